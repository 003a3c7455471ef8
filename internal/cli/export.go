package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/internal/atomicfile"
	"github.com/tagprune/tagprune/internal/english"
)

// exportOptions are the flags of tagprune export.
type exportOptions struct {
	Global globalOptions
	Source sourceOptions
	Out    string // the snapshot file
	Folder string // a folder path ending in "/"; "/" is the whole library
}

func exportCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "export",
		Usage:     "snapshot the library's file objects to a JSON file for --library",
		UsageText: "tagprune export --out library.json [--path /folder/]",
		Description: `Streams every file of the library (or of one folder and its subfolders)
into a JSON file in the emulator's format, so that manifests can be tried offline
with --library. Each file object is written as the API sent it, every field kept,
so a searchQuery selects the same files offline. Folders and file versions are
left out. Only read requests are sent.

Examples:
  tagprune export --out library.json
  tagprune export --out products.json --path /products/
  tagprune plan -f tagprune.yaml --library products.json`,
		Flags: withGlobal(append([]urfave.Flag{
			&urfave.StringFlag{Name: flagOut, TakesFile: true, Usage: "write the snapshot to `FILE` (atomically)"},
			&urfave.StringFlag{Name: flagPath, Value: wholeLibrary, Usage: "only this `FOLDER` and its subfolders"},
		}, sourceFlags()...)...),
		Action: action(e, parseExport, runExport),
	}
}

func parseExport(c *urfave.Context) (*exportOptions, error) {
	src, err := parseSource(c)
	if err != nil {
		return nil, err
	}
	o := &exportOptions{
		Global: parseGlobal(c),
		Source: src,
		Out:    c.String(flagOut),
		Folder: c.String(flagPath),
	}
	if err := requireValue(c.Command.Name, flagOut, o.Out, "the snapshot file to write, such as --out library.json"); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(o.Folder, "/") {
		return nil, fmt.Errorf("--%s %q: a folder path starts with /", flagPath, o.Folder)
	}
	if !strings.HasSuffix(o.Folder, "/") {
		o.Folder += "/"
	}
	return o, nil
}

func runExport(ctx context.Context, e *env, o *exportOptions) error {
	if err := preflight([]file{{"--" + flagOut, o.Out}}, sourceInputs(o.Source, nil, "")); err != nil {
		return fmt.Errorf("%w; nothing was sent", err)
	}
	s, err := openSession(ctx, e, o.Global, nil, nil, o.Source)
	if err != nil {
		return err
	}
	e.intr.during(reading("the snapshot is not written"), nil)
	var n int
	var readErr error
	err = atomicfile.Write(o.Out, func(w io.Writer) error {
		n, readErr = s.writeSnapshot(ctx, o.Folder, w)
		return readErr
	})
	switch {
	case readErr != nil && ctx.Err() != nil:
		return interruptedError{msg: fmt.Sprintf("interrupted while exporting: %s is left as it was", o.Out)}
	case readErr != nil:
		if where := s.lib.unnamed(readErr); where != "" {
			return fmt.Errorf("export %s from %s: %w", o.Folder, where, readErr)
		}
		return fmt.Errorf("export %s: %w", o.Folder, readErr)
	case err != nil:
		return fmt.Errorf("export to %s: %w", o.Out, err)
	}
	fmt.Fprintf(e.Out, "Exported %s under %s to %s.\n", english.Plural(n, "file", "files"), o.Folder, o.Out)
	return nil
}

// writeSnapshot streams the files under folder into w as a JSON array, one
// file object a line, never holding more than one page, and returns how
// many files it wrote. Each object is written as the API sent it (every
// field, unknown ones and large numbers included), so that a searchQuery
// on any field answers the same on the snapshot as on the API.
func (s *session) writeSnapshot(ctx context.Context, folder string, w io.Writer) (int, error) {
	p := api.ListParams{}
	if folder != wholeLibrary {
		// A search may return folders too unless it asks for files; the
		// client drops any that still come.
		p.SearchQuery = fmt.Sprintf(`path : %q AND type = "file"`, folder)
	}
	s.progress.start(-1, "exporting", nil)
	defer s.progress.finish()
	if _, err := io.WriteString(w, "["); err != nil {
		return 0, err
	}
	n := 0
	var line bytes.Buffer
	for f, err := range s.lib.client.List(ctx, p) {
		if err != nil {
			return n, err
		}
		line.Reset()
		if len(f.Raw) > 0 {
			// Compact keeps every value's bytes and only drops the
			// whitespace between them, so each object stays on one line.
			err = json.Compact(&line, f.Raw)
		} else {
			err = json.NewEncoder(&line).Encode(f)
		}
		if err != nil {
			return n, fmt.Errorf("file %s: %w", f.FileID, err)
		}
		b := bytes.TrimRight(line.Bytes(), "\n")
		sep := ",\n  "
		if n == 0 {
			sep = "\n  "
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return n, err
		}
		if _, err := w.Write(b); err != nil {
			return n, err
		}
		n++
		s.progress.set(n)
	}
	_, err := io.WriteString(w, "\n]\n")
	return n, err
}
