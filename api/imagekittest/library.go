package imagekittest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxLibraryBytes is the largest library file OpenLibrary reads: 2 GiB,
// room for a million files of 2 KiB each (an exported file object with
// custom metadata is about 1 KiB).
const MaxLibraryBytes int64 = 2 << 30

// Library is a media library held in memory: every file object's JSON
// exactly as it was given (unknown members, the spelling of numbers, the
// layout), indexed for searches. A Handler serves it and changes it; only a
// tag call's tags or AITags, and then the file's updatedAt, ever change in
// an object. A Library is safe for concurrent use.
type Library struct {
	s *store
}

// NewLibrary returns a library of files, in that order. It fails when a
// fileId is empty or appears twice.
func NewLibrary(files []File) (*Library, error) {
	s := newStore(len(files))
	for i := range files {
		raw, err := json.MarshalIndent(&files[i], "  ", "  ")
		if err != nil {
			return nil, fmt.Errorf("file %d (%q): %w", i, files[i].FileID, err)
		}
		var fs objFields
		if _, err := scanFields(raw, &fs); err != nil {
			return nil, fmt.Errorf("file %d (%q): %w", i, files[i].FileID, err)
		}
		e, err := s.dec.entry(raw, &fs, uint32(i), false)
		if errors.Is(err, errNoFileID) {
			return nil, fmt.Errorf("file %d (%q) has an empty fileId: give every file a unique id", i, files[i].FilePath)
		}
		if err != nil {
			return nil, fmt.Errorf("file %d (%q): %w", i, files[i].FileID, err)
		}
		if prev := s.addLoaded(e); prev != nil {
			return nil, fmt.Errorf("fileId %q appears more than once: file ids must be unique", e.id)
		}
	}
	s.finishLoad()
	return &Library{s: s}, nil
}

// OpenLibrary reads the library file at path (see ReadLibrary). It refuses,
// before opening it, anything that is not a regular file (a FIFO, a device,
// a directory), and a file larger than MaxLibraryBytes. Errors name path.
func OpenLibrary(ctx context.Context, path string) (*Library, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read library %s: %w", path, err)
	}
	if err := checkRegular(path, info); err != nil {
		return nil, err
	}
	if info.Size() > MaxLibraryBytes {
		return nil, fmt.Errorf("library %s is %d bytes, more than the %d bytes (2 GiB) a library may hold", path, info.Size(), MaxLibraryBytes)
	}
	f, err := openNoBlock(path)
	if err != nil {
		return nil, fmt.Errorf("read library %s: %w", path, err)
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("read library %s: %w", path, err)
	}
	if err := checkRegular(path, info); err != nil {
		return nil, err
	}
	return readLibrary(ctx, &limitReader{r: f, left: MaxLibraryBytes, path: path}, path, int(info.Size()/700))
}

// checkRegular refuses what is not a regular file, saying what it is.
func checkRegular(path string, info os.FileInfo) error {
	if info.Mode().IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch m := info.Mode(); {
	case m.IsDir():
		what = "a directory"
	case m&os.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&os.ModeDevice != 0:
		what = "a device"
	case m&os.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("read library %s: it is %s, not a regular file: give the path of a library file (a JSON array of file objects)", path, what)
}

// limitReader reads at most left bytes and fails beyond them.
type limitReader struct {
	r    io.Reader
	left int64
	path string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("library %s grew past the %d bytes (2 GiB) a library may hold", l.path, MaxLibraryBytes)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// ReadLibrary reads a library, a JSON array of ImageKit file objects, from
// r. It streams: each object is copied once into the library, which keeps
// its bytes as given. Every object must have a unique, non-empty fileId
// and a filePath starting with "/"; the members the emulator searches
// (tags, AITags, dates, sizes, ...) must have their API types. Errors give
// the line and column, or the file's index and id. It stops with ctx's
// error when ctx ends.
func ReadLibrary(ctx context.Context, r io.Reader) (*Library, error) {
	return readLibrary(ctx, r, "", 0)
}

// readLibrary reads a library from r; name names it in errors, files is
// about how many files it holds, when known.
func readLibrary(ctx context.Context, r io.Reader, name string, files int) (*Library, error) {
	in := &jsonReader{r: r, buf: make([]byte, 0, 1<<20), ctx: ctx, lastNL: -1}
	where := "library"
	if name != "" {
		where += " " + name
	}
	fail := func(off int, format string, args ...any) error {
		line, col := in.position(off)
		return fmt.Errorf("parse %s: line %d, column %d: %s", where, line, col, fmt.Sprintf(format, args...))
	}
	s := newStore(files)
	i, err := in.nonSpace(0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", where, err)
	}
	if i >= len(in.buf) {
		return nil, fail(i, "the file is empty: a library is a JSON array of ImageKit file objects")
	}
	if in.buf[i] != '[' {
		return nil, fail(i, "it starts with %q, not [: a library is a JSON array of ImageKit file objects", in.buf[i])
	}
	var fs objFields
	for n := 0; ; n++ {
		if i, err = in.nonSpace(i + 1); err != nil {
			return nil, fmt.Errorf("read %s: %w", where, err)
		}
		if n == 0 && i < len(in.buf) && in.buf[i] == ']' {
			break
		}
		if i >= len(in.buf) {
			return nil, fail(i, "the array is not closed: add ]")
		}
		if in.buf[i] != '{' {
			return nil, fail(i, "file %d is not a JSON object: a library is a JSON array of ImageKit file objects", n)
		}
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read %s: %w", where, err)
			}
		}
		var end int
		for {
			end, err = scanFields(in.buf[i:], &fs)
			if err != errShort || in.eof {
				break
			}
			if i, err = in.more(i); err != nil {
				return nil, fmt.Errorf("read %s: %w", where, err)
			}
		}
		var se *syntaxError
		switch {
		case errors.As(err, &se):
			return nil, fail(i+se.off, "%s", se.msg)
		case err == errShort:
			return nil, fail(len(in.buf), "the file ends inside file %d: it is cut short", n)
		case err != nil:
			return nil, fmt.Errorf("parse %s: %w", where, err)
		}
		obj := s.dec.raw.copy(in.buf[i : i+end])
		e, err := s.dec.entry(obj, &fs, uint32(n), true)
		if err != nil {
			return nil, entryError(where, n, obj, &fs, err)
		}
		if prev := s.addLoaded(e); prev != nil {
			return nil, fmt.Errorf("%s: files %d and %d share fileId %q: file ids must be unique", where, prev.seq, n, e.id)
		}
		if i, err = in.nonSpace(i + end); err != nil {
			return nil, fmt.Errorf("read %s: %w", where, err)
		}
		if i >= len(in.buf) {
			return nil, fail(i, "the array is not closed: add ]")
		}
		if in.buf[i] == ']' {
			break
		}
		if in.buf[i] != ',' {
			return nil, fail(i, "invalid character %q after file %d: want , or ]", in.buf[i], n)
		}
	}
	if i, err = in.nonSpace(i + 1); err != nil {
		return nil, fmt.Errorf("read %s: %w", where, err)
	}
	if i < len(in.buf) {
		return nil, fail(i, "data after the JSON array")
	}
	s.finishLoad()
	return &Library{s: s}, nil
}

// entryError explains why object n of a library was refused.
func entryError(where string, n int, obj []byte, fs *objFields, err error) error {
	id, _, _ := str(obj, fs, fs.fileID, seenFileID, "fileId")
	path, _, _ := str(obj, fs, fs.filePath, seenFilePath, "filePath")
	var pe *pathError
	switch {
	case errors.Is(err, errNoFileID):
		return fmt.Errorf("%s: file %d (%q) has no fileId: give every file a unique, non-empty fileId", where, n, path)
	case errors.As(err, &pe):
		return fmt.Errorf("%s: file %q has filePath %q: it must start with /", where, id, pe.path)
	default:
		return fmt.Errorf("%s: file %d (fileId %q): %w", where, n, id, err)
	}
}

// jsonReader is a window on a stream: buf holds the bytes from offset base
// of the stream on.
type jsonReader struct {
	r      io.Reader
	ctx    context.Context
	buf    []byte
	base   int64 // stream offset of buf[0]
	lines  int   // newlines before buf[0]
	lastNL int64 // stream offset of the last newline before buf[0], or -1
	eof    bool
}

// more reads more of the stream, keeping buf[keep:]; it returns keep's new
// offset in buf. At the end of the stream it sets eof.
func (in *jsonReader) more(keep int) (int, error) {
	if err := in.ctx.Err(); err != nil {
		return keep, err
	}
	if keep > 0 {
		dropped := in.buf[:keep]
		if n := bytes.Count(dropped, []byte{'\n'}); n > 0 {
			in.lines += n
			in.lastNL = in.base + int64(bytes.LastIndexByte(dropped, '\n'))
		}
		in.base += int64(keep)
		in.buf = in.buf[:copy(in.buf, in.buf[keep:])]
	}
	if len(in.buf) == cap(in.buf) {
		grown := make([]byte, len(in.buf), 2*cap(in.buf))
		copy(grown, in.buf)
		in.buf = grown
	}
	n, err := in.r.Read(in.buf[len(in.buf):cap(in.buf)])
	in.buf = in.buf[:len(in.buf)+n]
	if err == io.EOF {
		in.eof = true
		err = nil
	}
	return 0, err
}

// nonSpace returns the offset of the first byte at or after i that is not
// whitespace, reading as needed; len(in.buf) at the end of the stream.
func (in *jsonReader) nonSpace(i int) (int, error) {
	for {
		i = skipSpace(in.buf, i)
		if i < len(in.buf) || in.eof {
			return i, nil
		}
		var err error
		if i, err = in.more(i); err != nil {
			return i, err
		}
		if in.eof && len(in.buf) == 0 {
			return 0, nil
		}
	}
}

// position returns the line and column (from 1, in bytes) of buf[off].
func (in *jsonReader) position(off int) (line, col int) {
	off = min(off, len(in.buf))
	before := in.buf[:off]
	line = in.lines + bytes.Count(before, []byte{'\n'}) + 1
	if nl := bytes.LastIndexByte(before, '\n'); nl >= 0 {
		return line, off - nl
	}
	return line, int(in.base + int64(off) - in.lastNL)
}

// WriteTo writes the library to w as a JSON array, one file object after
// another in library order, each exactly as held: a library read from a
// file and not changed is written back with every object as it was given.
// The layout between objects is that of json.MarshalIndent with a two-space
// indent. It streams: the library is not copied.
func (l *Library) WriteTo(w io.Writer) (int64, error) {
	l.s.mu.RLock()
	defer l.s.mu.RUnlock()
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	n := 0
	l.s.all(func(e *entry) bool {
		if e.has(flagDeleted) {
			return true
		}
		if n == 0 {
			bw.WriteString("[\n  ")
		} else {
			bw.WriteString(",\n  ")
		}
		bw.Write(e.raw)
		n++
		return true
	})
	if n == 0 {
		bw.WriteString("[]\n")
	} else {
		bw.WriteString("\n]\n")
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// EncodeLibrary writes files to w in the library format, as
// NewLibrary(files).WriteTo(w) would, one file at a time.
func EncodeLibrary(w io.Writer, files []File) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for i := range files {
		raw, err := json.MarshalIndent(&files[i], "  ", "  ")
		if err != nil {
			return fmt.Errorf("encode file %d (%q): %w", i, files[i].FileID, err)
		}
		if i == 0 {
			bw.WriteString("[\n  ")
		} else {
			bw.WriteString(",\n  ")
		}
		bw.Write(raw)
	}
	if len(files) == 0 {
		bw.WriteString("[]\n")
	} else {
		bw.WriteString("\n]\n")
	}
	return bw.Flush()
}

// Changed reports whether anything in the library changed since it was
// made: a tag call that changed a file, a deletion or an upload. A tag call
// that changes nothing (removing a tag no file carries) is no change.
func (l *Library) Changed() bool {
	l.s.mu.RLock()
	defer l.s.mu.RUnlock()
	return l.s.changed
}

// Len returns the number of files (and file versions) in the library.
func (l *Library) Len() int {
	l.s.mu.RLock()
	defer l.s.mu.RUnlock()
	return len(l.s.byID)
}

// Files returns the library as it is now, in library order, decoded into
// Files: a copy the caller may change. Members File has no field for are
// not in it: use WriteTo for the objects as they are.
func (l *Library) Files() []File {
	l.s.mu.RLock()
	defer l.s.mu.RUnlock()
	out := make([]File, 0, len(l.s.byID))
	l.s.all(func(e *entry) bool {
		if !e.has(flagDeleted) {
			out = append(out, e.file())
		}
		return true
	})
	return out
}

// LoadLibrary reads the library file at path with OpenLibrary and returns
// its files decoded into Files.
func LoadLibrary(path string) ([]File, error) {
	lib, err := OpenLibrary(context.Background(), path)
	if err != nil {
		return nil, err
	}
	return lib.Files(), nil
}
