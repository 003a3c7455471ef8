//go:build !unix

package imagekittest

import "os"

// openNoBlock opens path for reading; the caller checks the opened file
// again.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
