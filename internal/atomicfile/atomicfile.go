// Package atomicfile writes files so that a reader sees either the old content
// or the new, never a part of it. It is the one place that renames files into place.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// maxLinks bounds how many symbolic links Write follows, as the kernel does.
const maxLinks = 40

// ErrNotRegular is matched by the error of Write and Check when the file to
// replace exists and is not a regular file (a directory, a named pipe, a
// device, a socket): replacing it would not write where the caller meant.
var ErrNotRegular = errors.New("not a regular file")

// Write writes the file at path with write, atomically: write fills a new
// file in the same directory, which is flushed, synced to disk and renamed
// over path, and then the directory is synced where the file system allows.
//
// When path is a symbolic link, the file it points to is replaced and the
// link is kept. Mode policy: a file that already exists keeps its permission
// bits; a new file gets 0666 less the umask, as os.Create gives it. None of
// tagprune's outputs holds a secret, so there is no reason to hide them
// from users the umask lets read them.
//
// When write or any step fails, path is left as it was, no temporary file
// is left behind, and the error is returned: write's own error unwrapped,
// the others as *os.PathError or *os.LinkError naming the file. A path that
// exists and is not a regular file is refused with ErrNotRegular before
// anything is written.
func Write(path string, write func(io.Writer) error) (err error) {
	target, err := writable(path)
	if err != nil {
		return err
	}
	tmp, err := create(target)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if info, err := os.Stat(target); err == nil {
		if err := tmp.Chmod(info.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return err
	}
	syncDir(filepath.Dir(target))
	return nil
}

// Check reports whether Write could replace path now, without writing it:
// path, after its symbolic links, must be a regular file or not exist, and a
// new file must be creatable in its directory. To find out, it creates an
// empty temporary file there and removes it, so nothing is left behind. The
// errors are those Write would return at the same step.
func Check(path string) error {
	target, err := writable(path)
	if err != nil {
		return err
	}
	tmp, err := create(target)
	if err != nil {
		return err
	}
	_ = tmp.Close()
	return os.Remove(tmp.Name())
}

// Target returns the file Write(path, ...) would replace: path after its
// symbolic links. The file may not exist yet.
func Target(path string) (string, error) { return resolve(path) }

// writable resolves path and refuses a target that exists and is not a
// regular file.
func writable(path string) (string, error) {
	target, err := resolve(path)
	if err != nil {
		return "", err
	}
	if info, err := os.Stat(target); err == nil && !info.Mode().IsRegular() {
		return "", &os.PathError{Op: "write", Path: path, Err: ErrNotRegular}
	}
	return target, nil
}

// resolve follows path while it is a symbolic link and returns the file it
// ends at, which may not exist yet.
func resolve(path string) (string, error) {
	p := path
	for range maxLinks {
		info, err := os.Lstat(p)
		if err != nil || info.Mode()&os.ModeSymlink == 0 {
			return p, nil // a missing file is created; other errors show when it is
		}
		dest, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(p), dest)
		}
		p = dest
	}
	return "", &os.PathError{Op: "write", Path: path, Err: errors.New("too many levels of symbolic links")}
}

// create makes a new, empty file beside target. It opens it with mode 0666
// so that the umask applies, which os.CreateTemp's fixed 0600 would not.
func create(target string) (*os.File, error) {
	dir, base := filepath.Split(target)
	var err error
	for range 100 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		var f *os.File
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no free temporary file name beside %s: %w", target, err)
}

// syncDir makes a rename in dir durable. Some file systems cannot sync a
// directory; the rename has happened either way, so errors are ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
