package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
	"github.com/tagprune/tagprune/reconcile"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check manifests; reads no library and sends no request",
		UsageText: "tagprune validate -f PATH... [--format text|github]",
		Description: `Loads every manifest and reports every problem at once, each with its
file:line:col. Exit 0 when the manifests are valid, 1 otherwise.

Examples:
  tagprune validate -f tagprune.yaml
  tagprune validate -f manifests/ --format github   # annotations on a pull request`,
		Flags: withGlobal(
			manifestFlag(false),
			&cli.StringFlag{Name: "format", Value: "text", Usage: "error format: text, or github (::error annotations)"},
		),
		Action: func(c *cli.Context) error {
			if err := requireManifest(c); err != nil {
				return err
			}
			format := c.String("format")
			if format != "text" && format != "github" {
				return fmt.Errorf("--format %q: want text or github", format)
			}
			rules, err := loadManifests(c, format)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Manifest OK: %s in %s.\n",
				plural(len(rules), "rule", "rules"), strings.Join(c.StringSlice(flagManifest), ", "))
			return nil
		},
	}
}

// requireManifest refuses a command run without -f, in one line rather than
// with the whole help.
func requireManifest(c *cli.Context) error {
	if len(c.StringSlice(flagManifest)) == 0 {
		return fmt.Errorf("no manifest: give one with -f PATH, such as 'tagprune %s -f tagprune.yaml' (see 'tagprune %s --help')",
			c.Command.Name, c.Command.Name)
	}
	return nil
}

// requireString refuses a command run without the flag name, saying what
// the flag is for.
func requireString(c *cli.Context, name, what string) error {
	if c.String(name) == "" {
		return fmt.Errorf("missing --%s: give %s (see 'tagprune %s --help')", name, what, c.Command.Name)
	}
	return nil
}

// loadManifests loads the -f paths and prints every error found, in the
// text or github format.
func loadManifests(c *cli.Context, format string) ([]manifest.Rule, error) {
	rules, err := manifest.Load(c.StringSlice(flagManifest)...)
	if err == nil {
		return rules, nil
	}
	var errs manifest.Errors
	if !errors.As(err, &errs) {
		return nil, err
	}
	for _, e := range errs {
		if format == "github" {
			fmt.Fprintln(c.App.Writer, githubAnnotation(e))
		} else {
			fmt.Fprintln(c.App.ErrWriter, e.Error())
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "%s found; nothing was read or changed.\n", plural(len(errs), "manifest error", "manifest errors"))
	return nil, errSilent
}

// githubAnnotation formats a manifest error as a GitHub Actions workflow
// command, so the error shows on the pull request's line.
func githubAnnotation(e *manifest.Error) string {
	props := "file=" + escapeProperty(e.Pos.File)
	if e.Pos.Line > 0 {
		props += fmt.Sprintf(",line=%d", e.Pos.Line)
	}
	if e.Pos.Col > 0 {
		props += fmt.Sprintf(",col=%d", e.Pos.Col)
	}
	msg := e.Msg
	if e.Rule != "" {
		msg = fmt.Sprintf("rule %q: %s", e.Rule, e.Msg)
	}
	return "::error " + props + "::" + escapeData(msg)
}

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func planCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "show which tags would be removed (a dry run: only read requests)",
		UsageText: "tagprune plan -f PATH... [--out PLANFILE] [--format text|json|markdown] [--detailed-exitcode] [--report FILE]",
		Description: `Reads the library and prints, per rule and per file, the tags that apply
would remove, then a summary line. Nothing is changed.

Examples:
  tagprune plan -f examples/manifest.yaml --library examples/library.json
  tagprune plan -f tagprune.yaml --out plan.json               # review, then: tagprune apply plan.json
  tagprune plan -f tagprune.yaml --format markdown > comment.md
  tagprune plan -f tagprune.yaml --detailed-exitcode            # exit 2 when there is drift`,
		Flags: withGlobal(append([]cli.Flag{
			manifestFlag(false),
			&cli.StringFlag{Name: "out", Usage: "save the plan to `PLANFILE` for 'tagprune apply PLANFILE'", TakesFile: true},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output: text, json (the plan document) or markdown (a pull-request comment)"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 0 when there are no changes, 2 when there are, 1 on error"},
			reportFlag("also write a report `FILE`"),
			batchSizeFlag(),
		}, libraryFlags()...)...),
		Action: runPlan,
	}
}

func batchSizeFlag() cli.Flag {
	return &cli.IntFlag{Name: "batch-size", Value: 50, Usage: "files per removeTags call, 1..50"}
}

func runPlan(c *cli.Context) error {
	if err := requireManifest(c); err != nil {
		return err
	}
	format := c.String("format")
	if format != "text" && format != "json" && format != "markdown" {
		return fmt.Errorf("--format %q: want text, json or markdown", format)
	}
	batch := c.Int("batch-size")
	if batch < 1 || batch > 50 {
		return fmt.Errorf("--batch-size %d: want 1..50 (the API takes at most 50 files per call)", batch)
	}
	if err := checkReportPaths(c.StringSlice(flagReport)); err != nil {
		return err
	}
	env, err := setup(c)
	if err != nil {
		return err
	}
	plan, err := env.plan(batch)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	switch format {
	case "json":
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		err = enc.Encode(plan)
	case "markdown":
		err = reconcile.RenderMarkdown(&out, plan)
	default:
		err = reconcile.RenderText(&out, plan, useColor(c))
	}
	if err != nil {
		return err
	}
	if _, err := c.App.Writer.Write(out.Bytes()); err != nil {
		return err
	}
	if path := c.String("out"); path != "" {
		if err := reconcile.WritePlan(path, plan); err != nil {
			return fmt.Errorf("save the plan: %w", err)
		}
		fmt.Fprintf(c.App.ErrWriter, "Saved the plan to %s. Apply exactly this plan with: tagprune apply %s\n", path, path)
	}
	rep := reconcile.PlanReport(plan)
	if err := writeReports(c.StringSlice(flagReport), rep); err != nil {
		return err
	}
	if err := stepSummary(func(w io.Writer) error { return reconcile.RenderMarkdown(w, plan) }); err != nil {
		return err
	}
	if c.Bool("detailed-exitcode") && len(plan.Changes) > 0 {
		return &exitErr{code: exitChanges}
	}
	return nil
}

// checkReportPaths refuses report paths whose format is unknown, before any
// request is sent.
func checkReportPaths(paths []string) error {
	for _, p := range paths {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".md", ".xml":
		default:
			return fmt.Errorf("--report %s: the file name must end in .json, .md (markdown) or .xml (JUnit)", p)
		}
	}
	return nil
}

func writeReports(paths []string, r *reconcile.Report) error {
	var errs []error
	for _, p := range paths {
		if err := reconcile.WriteReport(p, r); err != nil {
			errs = append(errs, fmt.Errorf("write report %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// stepSummary appends a markdown summary to $GITHUB_STEP_SUMMARY when it is set.
func stepSummary(render func(io.Writer) error) error {
	if os.Getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	if err := reconcile.AppendStepSummary(b.Bytes()); err != nil {
		return fmt.Errorf("append to GITHUB_STEP_SUMMARY: %w", err)
	}
	return nil
}

func schemaCommand() *cli.Command {
	return &cli.Command{
		Name:      "schema",
		Usage:     "print the JSON Schema of the manifest format (for editor completion)",
		UsageText: "tagprune schema > tagprune.schema.json",
		Description: `Prints a JSON Schema (draft 2020-12) generated from the types the manifest
loader decodes into. Point your editor at it with a first line such as:
  # yaml-language-server: $schema=./tagprune.schema.json

Examples:
  tagprune schema > tagprune.schema.json`,
		Flags: withGlobal(),
		Action: func(c *cli.Context) error {
			_, err := c.App.Writer.Write(manifest.Schema())
			return err
		},
	}
}

func emulatorCommand() *cli.Command {
	// The emulator's settings declare their own flags.
	flags := []cli.Flag{
		&cli.StringFlag{Name: "data", TakesFile: true, Usage: "library `FILE` (a JSON array of ImageKit file objects)"},
		&cli.StringFlag{Name: "addr", Value: imagekittest.DefaultAddr, Usage: "listen address; port 0 picks a free port"},
		&cli.BoolFlag{Name: "save", Usage: "write the library back to --data on shutdown"},
	}
	settings := imagekittest.Settings()
	for _, s := range settings {
		flags = append(flags, settingFlag(s))
	}
	return &cli.Command{
		Name:      "emulator",
		Usage:     "serve a library file as a local ImageKit API (for tests, demos and trying manifests)",
		UsageText: "tagprune emulator --data FILE [--addr HOST:PORT] [--private-key KEY] [--rate-limit N] [--latency DUR] [--fail-rate P] [--partial-rate P] [--seed N] [--save]",
		Description: `Serves the library in FILE with the ImageKit API's endpoints, shapes, status
codes and rate-limit headers. The first line on stdout is "listening on http://HOST:PORT".
Faults are deterministic for a given --seed.

Examples:
  tagprune emulator --data examples/library.json --addr 127.0.0.1:8080
  IMAGEKIT_API_URL=http://127.0.0.1:8080 IMAGEKIT_PRIVATE_KEY=any tagprune plan -f examples/manifest.yaml
  tagprune emulator --data lib.json --rate-limit 20 --latency 150ms --partial-rate 0.1 --seed 7`,
		Flags: withGlobal(flags...),
		Action: func(c *cli.Context) error {
			if err := requireString(c, "data", "the library file to serve, such as --data examples/library.json"); err != nil {
				return err
			}
			logger, err := newLogger(c)
			if err != nil {
				return err
			}
			var cfg imagekittest.Config
			for _, s := range settings {
				values := []string{c.String(s.Name)}
				if s.Kind == imagekittest.KindList {
					values = c.StringSlice(s.Name)
				}
				for _, v := range values {
					if err := cfg.Set(s.Name, v); err != nil {
						return err
					}
				}
			}
			return runEmulator(c.Context, c.String("data"), c.String("addr"), c.Bool("save"), cfg, c.App.Writer, logger)
		},
	}
}

// settingFlag is the flag of an emulator setting.
func settingFlag(s imagekittest.Setting) cli.Flag {
	switch s.Kind {
	case imagekittest.KindList:
		return &cli.StringSliceFlag{Name: s.Name, Usage: s.Usage}
	case imagekittest.KindBool:
		return &cli.BoolFlag{Name: s.Name, Usage: s.Usage}
	default:
		return &cli.StringFlag{Name: s.Name, Usage: s.Usage, Value: s.Default}
	}
}

// runEmulator serves the library in data on addr until ctx ends, printing
// "listening on URL" first; with save it writes the library back to data
// at the end.
func runEmulator(ctx context.Context, data, addr string, save bool, cfg imagekittest.Config, stdout io.Writer, logger *slog.Logger) error {
	lib, err := imagekittest.OpenLibrary(ctx, data)
	if err != nil {
		return err
	}
	h := imagekittest.NewLibraryHandler(lib, cfg.Options()...)
	srv, err := imagekittest.Listen(addr, h)
	if err != nil {
		return fmt.Errorf("%w (pick another --addr)", err)
	}
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", srv.URL); err != nil {
		srv.Close()
		return fmt.Errorf("print the emulator address: %w", err)
	}
	logger.Info("emulator serving", "url", srv.URL, "files", lib.Len(), "data", data)
	if err := srv.Wait(ctx); err != nil {
		return err
	}
	st := h.Stats()
	logger.Info("emulator stopped", "list", st.Requests.List, "details", st.Requests.Details,
		"removeTags", st.Requests.RemoveTags, "addTags", st.Requests.AddTags, "delete", st.Requests.Delete,
		"rateLimited", st.RateLimited, "faults", st.Faults)
	if save {
		if err := writeLibrary(data, lib); err != nil {
			return err
		}
		logger.Info("library saved", "data", data)
	}
	return nil
}

// plural formats n with the singular or plural noun and thousands separators.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
