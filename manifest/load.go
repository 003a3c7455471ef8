package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest manifest Load reads, in bytes (10 MiB).
const MaxFileSize = 10 << 20

// maxExpandedNodes bounds the size of a document once its aliases are
// expanded. A real manifest is far below it; an alias bomb is far above.
const maxExpandedNodes = 100_000

// Load reads manifests from files and directories (every *.yaml and *.yml in
// a directory, sorted, not recursive) and returns their rules in order. On
// failure it returns an Errors listing every problem found, each with its
// file and, where known, line and column; errors.As reaches each *Error.
//
// Load checks ctx before each file and each rule, and returns ctx.Err()
// (wrapped) when it is done first. Only regular files are opened: a named
// pipe, a device or a socket, named or found in a directory, is a problem
// reported without reading it, since reading it could block forever.
func Load(ctx context.Context, paths ...string) ([]Rule, error) {
	l := &loader{names: map[string]Position{}}
	if len(paths) == 0 {
		return nil, Errors{{Msg: "no manifest given; name at least one manifest file or directory"}}
	}
	for _, f := range l.expand(paths) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("loading manifests: %w", err)
		}
		if err := l.loadFile(ctx, f); err != nil {
			return nil, fmt.Errorf("loading manifest %s: %w", f, err)
		}
	}
	l.checkReplaceConflicts()
	if len(l.errs) > 0 {
		sortErrors(l.errs)
		return nil, l.errs
	}
	return l.rules, nil
}

// loader collects the rules and the problems of one Load.
type loader struct {
	rules        []Rule
	replaceNodes []map[string]Position // per rule: where each replacement tag is written
	errs         Errors
	names        map[string]Position // rule name -> where it was first defined
}

func (l *loader) add(pos Position, rule, format string, args ...any) {
	l.errs = append(l.errs, &Error{Pos: pos, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

// fileKind says in words what a file that is not a regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// expand turns the paths given into the list of files to read, each once.
func (l *loader) expand(paths []string) []string {
	var files []string
	seen := map[string]bool{}
	addFile := func(f string) {
		if c := filepath.Clean(f); !seen[c] {
			seen[c] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			l.add(Position{File: p}, "", "cannot read manifest: %v", unwrapPathError(err))
			continue
		}
		if !fi.IsDir() {
			if !fi.Mode().IsRegular() {
				l.add(Position{File: p}, "", "manifest is %s, not a regular file; name a YAML file", fileKind(fi.Mode()))
				continue
			}
			addFile(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			l.add(Position{File: p}, "", "cannot list manifest directory: %v", unwrapPathError(err))
			continue
		}
		n := 0
		for _, e := range entries { // os.ReadDir sorts by name
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			f := filepath.Join(p, e.Name())
			// The entry's type comes from the directory; a symbolic link is
			// followed to what it names.
			if fi, err := os.Stat(f); err == nil && !fi.Mode().IsRegular() {
				if fi.IsDir() {
					continue
				}
				l.add(Position{File: f}, "", "manifest is %s, not a regular file; remove it from the directory or name the manifests one by one", fileKind(fi.Mode()))
				n++
				continue
			}
			addFile(f)
			n++
		}
		if n == 0 {
			l.add(Position{File: p}, "", "directory holds no *.yaml or *.yml manifest; name a manifest file or a directory that has some")
		}
	}
	return files
}

// unwrapPathError drops the path from an *os.PathError, since the file is
// already named by the position.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readFile reads a manifest, refusing oversize and non-UTF-8 files.
func (l *loader) readFile(name string) ([]byte, bool) {
	pos := Position{File: name}
	f, err := os.Open(name)
	if err != nil {
		l.add(pos, "", "cannot read manifest: %v", unwrapPathError(err))
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		l.add(pos, "", "cannot read manifest: %v", unwrapPathError(err))
		return nil, false
	}
	if !fi.Mode().IsRegular() {
		l.add(pos, "", "manifest is not a regular file; name a YAML file")
		return nil, false
	}
	tooBig := func() {
		l.add(pos, "", "manifest is larger than %d MiB; split it into several files", MaxFileSize>>20)
	}
	if fi.Size() > MaxFileSize {
		tooBig()
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		l.add(pos, "", "cannot read manifest: %v", unwrapPathError(err))
		return nil, false
	}
	if len(data) > MaxFileSize { // the file grew after Stat
		tooBig()
		return nil, false
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		l.add(pos, "", "manifest is not valid UTF-8 (first bad byte at offset %d); save it as UTF-8", off)
		return nil, false
	}
	return data, true
}

// loadFile reads, checks and converts one manifest file. It returns only
// ctx's error; problems of the file are added to l.
func (l *loader) loadFile(ctx context.Context, name string) error {
	data, ok := l.readFile(name)
	if !ok {
		return nil
	}
	top, ok := l.parse(name, data)
	if !ok {
		return nil
	}
	if tagged := explicitTags(top, data); len(tagged) > 0 {
		for _, t := range tagged {
			l.add(Position{File: name, Line: t.line, Col: t.col}, "",
				"explicit YAML tag %s is not allowed in a manifest; remove it and write the value as plain text (quoted if need be)", t.text)
		}
		return nil
	}
	if pos, size, bad := aliasBomb(top); bad {
		l.add(Position{File: name, Line: pos.Line, Col: pos.Column}, "",
			"aliases expand to more than %d YAML nodes (%s); refusing to expand them, write the values out instead", maxExpandedNodes, size)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &walker{file: name}
	w.value(top, reflectType[manifestDoc](), "manifest")
	l.errs = append(l.errs, w.errs...)
	// With the shape right, decode strictly. With shape errors (already
	// reported), decode what can be decoded so that the value checks below
	// still report the rest of the file's problems.
	var doc manifestDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(len(w.errs) == 0)
	if err := dec.Decode(&doc); err != nil {
		var te *yaml.TypeError
		if len(w.errs) == 0 {
			// The walk should have caught everything the decoder rejects.
			l.yamlError(name, data, err)
			return nil
		}
		if !errors.As(err, &te) {
			return nil
		}
	}
	return l.check(ctx, name, top, &doc)
}

// explicitTag is a YAML tag written in a manifest.
type explicitTag struct {
	line, col int
	text      string // the tag as written, such as !!binary
}

// explicitTags returns the explicit YAML tags (!!str, !!binary, !foo, the
// bare !) written in a manifest, in document order. A manifest holds plain
// values only: a tag changes how a value is read (!!binary decodes base64)
// or means nothing to tagprune (!foo), and either way the value read would
// not be the text written. A node's position is that of its tag, or of its
// anchor when the tag follows one.
func explicitTags(top *yaml.Node, data []byte) []explicitTag {
	lines := bytes.Split(data, []byte("\n"))
	// runeStarts[i] holds the byte offset of every character of line i,
	// built only for lines that hold a "!" at all, once: a manifest may
	// hold a long list on one line, and no tag can start on a line
	// without a "!".
	runeStarts := map[int][]int{}
	// tagAt returns the tag written where n starts, and its column, or "".
	tagAt := func(n *yaml.Node) (string, int) {
		if n.Line < 1 || n.Line > len(lines) {
			return "", 0
		}
		line := lines[n.Line-1]
		starts, ok := runeStarts[n.Line]
		if !ok {
			if bytes.IndexByte(line, '!') >= 0 {
				for i := range string(line) {
					starts = append(starts, i)
				}
			}
			runeStarts[n.Line] = starts // nil: no tag on this line
		}
		if n.Column < 1 || n.Column > len(starts) {
			return "", 0
		}
		rest := line[starts[n.Column-1]:]
		col := n.Column
		skip := func(word bool) { // skip a word, or the blanks after it
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') != word {
				_, size := utf8.DecodeRune(rest)
				rest = rest[size:]
				col++
			}
		}
		if rest[0] == '&' { // an anchor, then maybe a tag
			skip(true)
			skip(false)
		}
		if len(rest) == 0 || rest[0] != '!' {
			return "", 0
		}
		start, startCol := rest, col
		skip(true)
		return string(start[:len(start)-len(rest)]), startCol
	}
	var out []explicitTag
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind != yaml.AliasNode && n.Kind != yaml.DocumentNode {
			text, col := tagAt(n)
			switch {
			case text != "":
				out = append(out, explicitTag{line: n.Line, col: col, text: text})
			case n.Style&yaml.TaggedStyle != 0:
				out = append(out, explicitTag{line: n.Line, col: n.Column, text: n.Tag})
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(top)
	return out
}

// parse reads the single YAML document of a manifest and returns its top node.
func (l *loader) parse(name string, data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	err := dec.Decode(&root)
	if errors.Is(err, io.EOF) {
		l.add(Position{File: name}, "", "manifest is empty; it needs version: 1 and a list of rules")
		return nil, false
	}
	if err != nil {
		l.yamlError(name, data, err)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.yamlError(name, data, err)
		return nil, false
	default:
		l.add(Position{File: name, Line: next.Line, Col: next.Column}, "",
			"a second YAML document starts here; a manifest holds one document, put the rules of both in one list or in two files")
		return nil, false
	}
	if len(root.Content) == 0 || isNull(root.Content[0]) {
		l.add(Position{File: name}, "", "manifest is empty; it needs version: 1 and a list of rules")
		return nil, false
	}
	return root.Content[0], true
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns an error of the yaml package into positioned Errors. The
// yaml package gives lines only; the column is the first character of the
// line, or the first tab when tabs are what went wrong.
func (l *loader) yamlError(name string, data []byte, err error) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	lines := bytes.Split(data, []byte("\n"))
	for _, m := range msgs {
		pos := Position{File: name}
		sub := yamlLineRE.FindStringSubmatch(strings.TrimSpace(m))
		if sub == nil {
			l.add(pos, "", "invalid YAML: %s", strings.TrimPrefix(m, "yaml: "))
			continue
		}
		n, _ := strconv.Atoi(sub[1])
		msg := sub[2]
		pos.Line, pos.Col = n, 1
		if n >= 1 && n <= len(lines) {
			text := lines[n-1]
			indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
			if i := bytes.IndexByte(indent, '\t'); i >= 0 {
				pos.Col = i + 1
				msg += "; indent with spaces, YAML does not allow tabs for indentation"
			} else {
				pos.Col = len(indent) + 1
			}
		}
		l.add(pos, "", "invalid YAML: %s", msg)
	}
}

// aliasBomb reports whether the document's aliases expand beyond
// maxExpandedNodes, with the position of the alias that expands the most.
func aliasBomb(top *yaml.Node) (yaml.Node, string, bool) {
	sizes := map[*yaml.Node]int{}
	var worst *yaml.Node
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if s, ok := sizes[n]; ok {
			return s
		}
		if depth > 10_000 {
			return maxExpandedNodes + 1
		}
		sizes[n] = maxExpandedNodes + 1 // a node that contains itself is a bomb
		s := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			s = size(n.Alias, depth+1)
			if worst == nil || s > sizes[worst] {
				worst = n
			}
		}
		for _, c := range n.Content {
			s += size(c, depth+1)
			if s > maxExpandedNodes {
				s = maxExpandedNodes + 1
				break
			}
		}
		sizes[n] = s
		return s
	}
	total := size(top, 0)
	if total <= maxExpandedNodes {
		return yaml.Node{}, "", false
	}
	if worst == nil { // no aliases: the size is bounded by MaxFileSize
		return yaml.Node{}, "", false
	}
	return *worst, "alias *" + worst.Value, true
}
