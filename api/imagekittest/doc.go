// Package imagekittest is a local stand-in for the ImageKit API, for tests, demos and benchmarks.
// It models the server only: it keeps its own wire types and imports nothing but the standard library.
package imagekittest
