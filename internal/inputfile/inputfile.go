// Package inputfile reads the files a run is given (a key file, a plan, a
// snapshot) safely: only regular files, and never more than a stated size.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Kinds of refusal, for errors.Is.
var (
	// ErrNotRegular is a path that names a directory, a named pipe (FIFO),
	// a device or a socket: reading it could block forever or never end.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is a file larger than the limit it is read with.
	ErrTooLarge = errors.New("file too large")
)

// Error is a file refused before or while it was read.
type Error struct {
	Path  string
	Kind  error       // ErrNotRegular or ErrTooLarge
	Mode  fs.FileMode // the file's type, for ErrNotRegular
	Limit int64       // the limit in bytes, for ErrTooLarge
}

// Error says which file was refused, and why, in words.
func (e *Error) Error() string {
	if e.Kind == ErrTooLarge {
		return fmt.Sprintf("%s is larger than the %s limit", e.Path, Size(e.Limit))
	}
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, Describe(e.Mode))
}

// Unwrap returns the kind, so that errors.Is matches it.
func (e *Error) Unwrap() error { return e.Kind }

// Check refuses path unless it is, after its symbolic links, a regular file
// of at most limit bytes (any size when limit is 0 or less). It does not
// open the file, so a named pipe is refused without blocking. A path that
// cannot be examined returns the *fs.PathError of os.Stat.
func Check(path string, limit int64) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return check(path, info, limit)
}

func check(path string, info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return &Error{Path: path, Kind: ErrNotRegular, Mode: info.Mode().Type()}
	}
	if limit > 0 && info.Size() > limit {
		return &Error{Path: path, Kind: ErrTooLarge, Limit: limit}
	}
	return nil
}

// ReadFile returns the content of path, which must be a regular file of at
// most limit bytes (limit must be positive). The file is checked before it
// is opened; it is then opened without blocking and checked again, so that
// a file swapped for a named pipe in between is refused too, and it is read
// through a limit, so that a file that grows while it is read is refused
// rather than read without end. Errors: an *Error, or the *fs.PathError of
// the failed system call.
func ReadFile(path string, limit int64) ([]byte, error) {
	if err := Check(path, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := check(path, info, limit); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(b)) > limit {
		return nil, &Error{Path: path, Kind: ErrTooLarge, Limit: limit}
	}
	return b, nil
}

// Describe names a file type for people: "a directory", "a named pipe
// (FIFO)", "a device", "a socket", or "a regular file".
func Describe(mode fs.FileMode) string {
	switch t := mode.Type(); {
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeDevice != 0 || t&fs.ModeCharDevice != 0:
		return "a device"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t == 0:
		return "a regular file"
	}
	return "a special file"
}

// Size formats a size in bytes for people, in the largest binary unit that
// divides it: 4096 is "4 KiB", 10<<20 is "10 MiB", 1000 is "1000 bytes".
func Size(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
