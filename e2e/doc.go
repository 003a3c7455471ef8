// Package e2e holds the end-to-end tests: the tagprune binary, built once,
// run against the emulator over loopback, and the README and CI examples
// checked against what the binary does. It has no code outside its tests.
package e2e
