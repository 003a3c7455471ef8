package cli

import (
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
		Usage:     "snapshot the library (files with their tags) to a JSON file for --library",
		UsageText: "tagprune export --out library.json [--path /folder/]",
		Description: `Streams every file of the library (or of one folder and its subfolders)
into a JSON file in the emulator's format, so that manifests can be tried offline
with --library. Only read requests are sent.

Examples:
  tagprune export --out library.json
  tagprune export --out products.json --path /products/
  tagprune plan -f tagprune.yaml --library products.json`,
		Flags: withGlobal(append([]urfave.Flag{
			&urfave.StringFlag{Name: flagOut, TakesFile: true, Usage: "write the snapshot to `FILE` (atomically)"},
			&urfave.StringFlag{Name: flagPath, Value: wholeLibrary, Usage: "only this folder and its subfolders"},
		}, sourceFlags()...)...),
		Action: func(c *urfave.Context) error {
			o, err := parseExport(c)
			if err != nil {
				return err
			}
			return runExport(c.Context, e, o)
		},
	}
}

func parseExport(c *urfave.Context) (*exportOptions, error) {
	o := &exportOptions{
		Global: parseGlobal(c),
		Source: parseSource(c),
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
	s, err := openSession(ctx, e, o.Global, nil, nil, o.Source)
	if err != nil {
		return err
	}
	var n int
	var readErr error
	err = atomicfile.Write(o.Out, func(w io.Writer) error {
		n, readErr = s.writeSnapshot(ctx, o.Folder, w)
		return readErr
	})
	switch {
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
// many files it wrote.
func (s *session) writeSnapshot(ctx context.Context, folder string, w io.Writer) (int, error) {
	p := api.ListParams{}
	if folder != wholeLibrary {
		p.SearchQuery = fmt.Sprintf("path : %q", folder)
	}
	s.progress.start(-1, "exporting", nil)
	defer s.progress.finish()
	if _, err := io.WriteString(w, "["); err != nil {
		return 0, err
	}
	n := 0
	for f, err := range s.lib.client.List(ctx, p) {
		if err != nil {
			return n, err
		}
		b, err := json.Marshal(f)
		if err != nil {
			return n, err
		}
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
