//go:build unix

package imagekittest

import (
	"os"
	"syscall"
)

// openNoBlock opens path for reading without blocking on a FIFO that was
// put in place of a checked regular file: the caller checks the opened
// file again.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
