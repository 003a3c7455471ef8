package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tagprune/tagprune/internal/atomicfile"
	"github.com/tagprune/tagprune/internal/inputfile"
)

// file is a path the run reads or writes, and the flag or argument that
// names it in messages ("--report", "PLANFILE").
type file struct {
	flag, path string
}

func (f file) String() string { return f.flag + " " + f.path }

// preflight checks, before the first request, every file the run will
// write: each must be writable now (its folder exists and takes a new
// file; an existing file is a regular one), and none may be the same file
// as an input or as another output. An output named by the same flag as an
// input is that input rewritten (--library in apply) and is allowed. It
// creates and removes a probe file in each folder and leaves nothing behind.
func preflight(outputs, inputs []file) error {
	var errs []error
	for _, o := range outputs {
		if err := checkWritable(o); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	in := expandInputs(inputs)
	for i, o := range outputs {
		for _, f := range in {
			if f.flag != o.flag && sameFile(o.path, f.path) {
				errs = append(errs, fmt.Errorf("%s is the same file as %s: writing it would destroy that input; give another path", o, f))
			}
		}
		for _, p := range outputs[:i] {
			if sameFile(o.path, p.path) {
				errs = append(errs, fmt.Errorf("%s and %s name the same file: one would overwrite the other; give two paths", p, o))
			}
		}
	}
	return errors.Join(errs...)
}

// checkWritable says why o cannot be written, in words that name the flag.
func checkWritable(o file) error {
	err := atomicfile.Check(o.path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, atomicfile.ErrNotRegular):
		what := "not a regular file"
		if target, terr := atomicfile.Target(o.path); terr == nil {
			if info, serr := os.Stat(target); serr == nil {
				what = inputfile.Describe(info.Mode())
			}
		}
		return fmt.Errorf("%s is %s: tagprune writes its files by replacing a regular file; give the path of a file", o, what)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s cannot be written: the folder %s does not exist", o, folderOf(o.path))
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s cannot be written: no permission to create a file in %s", o, folderOf(o.path))
	}
	return fmt.Errorf("%s cannot be written: %w", o, err)
}

// folderOf names the folder a file is written in.
func folderOf(path string) string {
	if target, err := atomicfile.Target(path); err == nil {
		path = target
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// expandInputs replaces a manifest directory by the manifests -f reads in
// it (every *.yaml and *.yml).
func expandInputs(inputs []file) []file {
	var out []file
	for _, f := range inputs {
		if f.path == "" {
			continue
		}
		info, err := os.Stat(f.path)
		if err != nil || !info.IsDir() {
			out = append(out, f)
			continue
		}
		entries, err := os.ReadDir(f.path)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if ext := strings.ToLower(filepath.Ext(e.Name())); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				out = append(out, file{flag: f.flag, path: filepath.Join(f.path, e.Name())})
			}
		}
	}
	return out
}

// sameFile reports whether the paths a and b name one file: the same file
// when both exist (os.SameFile, so links and other spellings count), else
// the same path once symbolic links and relative parts are resolved.
func sameFile(a, b string) bool {
	ai, aerr := os.Stat(a)
	bi, berr := os.Stat(b)
	if aerr == nil && berr == nil {
		return os.SameFile(ai, bi)
	}
	if aerr == nil || berr == nil {
		return false // one exists and the other does not
	}
	return canonical(a) == canonical(b)
}

// canonical is path made absolute, with the symbolic links of the file and
// of its folder resolved as far as they exist.
func canonical(path string) string {
	if target, err := atomicfile.Target(path); err == nil {
		path = target
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	if abs, err := filepath.Abs(filepath.Join(dir, base)); err == nil {
		return abs
	}
	return filepath.Clean(path)
}
