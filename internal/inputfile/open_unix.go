//go:build unix

package inputfile

import "syscall"

// openFlags opens a named pipe without waiting for a writer, so that a
// file swapped for one after Check is refused instead of blocking.
const openFlags = syscall.O_NONBLOCK
