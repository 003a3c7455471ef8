package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
)

func exportCommand() *cli.Command {
	return &cli.Command{
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
		Flags: withGlobal(append([]cli.Flag{
			&cli.StringFlag{Name: "out", TakesFile: true, Usage: "write the snapshot to `FILE` (atomically)"},
			&cli.StringFlag{Name: "path", Value: "/", Usage: "only this folder and its subfolders"},
		}, libraryFlags()...)...),
		Action: runExport,
	}
}

func runExport(c *cli.Context) error {
	if err := requireString(c, "out", "the snapshot file to write, such as --out library.json"); err != nil {
		return err
	}
	folder := c.String("path")
	if !strings.HasPrefix(folder, "/") {
		return fmt.Errorf("--path %q: a folder path starts with /", folder)
	}
	if !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	env, err := setup(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	tmp, err := os.CreateTemp(filepath.Dir(out), ".tagprune-export-*")
	if err != nil {
		return fmt.Errorf("export to %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	n, err := writeSnapshot(c, env, folder, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export %s from %s: %w", folder, env.lib.where, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("export to %s: %w", out, err)
	}
	fmt.Fprintf(c.App.Writer, "Exported %s under %s to %s.\n", plural(n, "file", "files"), folder, out)
	return nil
}

// writeSnapshot streams the files under folder into w as a JSON array, one
// file object a line, never holding more than one page.
func writeSnapshot(c *cli.Context, env *runEnv, folder string, w *os.File) (int, error) {
	p := api.ListParams{}
	if folder != "/" {
		p.SearchQuery = fmt.Sprintf("path : %q", folder)
	}
	env.progress.start(-1, "exporting", nil)
	defer env.progress.finish()
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	n := 0
	for f, err := range env.lib.client.List(c.Context, p) {
		if err != nil {
			return n, err
		}
		b, err := json.Marshal(f)
		if err != nil {
			return n, err
		}
		if n > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  ")
		bw.Write(b)
		n++
		env.progress.set(n)
	}
	bw.WriteString("\n]\n")
	return n, bw.Flush()
}
