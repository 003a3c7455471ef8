// Package imagekittest is a local stand-in for the ImageKit API (an http.Handler, a loopback Server, and a Library that keeps file objects as given) for tests, demos and benchmarks.
// It models the server only: it keeps its own wire types, imports nothing but the standard library, and writes no file (callers write a Library with WriteTo).
package imagekittest
