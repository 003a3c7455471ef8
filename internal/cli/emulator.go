package cli

import (
	"context"
	"fmt"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// Flags of tagprune emulator that are the command's own; every other flag
// is one of the emulator's settings (imagekittest.Settings), declared there.
const (
	flagData = "data"
	flagAddr = "addr"
	flagSave = "save"
)

// emulatorOptions are the flags of tagprune emulator: the library file, the
// address, whether to save, the emulator's own settings, and the logging
// flags.
type emulatorOptions struct {
	Global globalOptions
	Data   string
	Addr   string
	Save   bool
	Config imagekittest.Config
}

func emulatorCommand(e *env) *urfave.Command {
	flags := []urfave.Flag{
		&urfave.StringFlag{Name: flagData, TakesFile: true, Usage: "library `FILE` (a JSON array of ImageKit file objects)"},
		&urfave.StringFlag{Name: flagAddr, Value: imagekittest.DefaultAddr, Usage: "listen address `HOST:PORT`; port 0 picks a free port"},
		&urfave.BoolFlag{Name: flagSave, Usage: "write the library back to --data on shutdown (SIGINT or SIGTERM)"},
	}
	for _, s := range imagekittest.Settings() {
		flags = append(flags, settingFlag(s))
	}
	return &urfave.Command{
		Name:      "emulator",
		Usage:     "serve a library file as a local ImageKit API (for tests, demos and trying manifests)",
		UsageText: "tagprune emulator --data FILE [--addr HOST:PORT] [--private-key KEY] [--rate-limit N] [--latency DUR] [--fail-rate P] [--partial-rate P] [--seed N] [--save]",
		Description: `Serves the library in FILE with the ImageKit API's endpoints, shapes, status
codes and rate-limit headers. The first line on stdout is "listening on http://HOST:PORT".
GET /_emulator/stats and GET /_emulator/requests (no auth) say what it was asked.
Faults are deterministic for a given --seed. --save writes the library back to FILE
on SIGINT or SIGTERM; without it the file is never written.

Examples:
  tagprune emulator --data examples/library.json --addr 127.0.0.1:8080
  IMAGEKIT_API_URL=http://127.0.0.1:8080 IMAGEKIT_PRIVATE_KEY=any-key-will-do tagprune plan -f examples/manifest.yaml
  tagprune emulator --data lib.json --rate-limit 20 --latency 150ms --partial-rate 0.1 --seed 7`,
		Flags:  withGlobal(flags...),
		Action: action(e, parseEmulator, runEmulator),
	}
}

// settingFlag is the flag of an emulator setting.
func settingFlag(s imagekittest.Setting) urfave.Flag {
	switch s.Kind {
	case imagekittest.KindList:
		return &urfave.StringSliceFlag{Name: s.Name, Usage: s.Usage}
	case imagekittest.KindBool:
		return &urfave.BoolFlag{Name: s.Name, Usage: s.Usage}
	default:
		return &urfave.StringFlag{Name: s.Name, Usage: s.Usage, Value: s.Default}
	}
}

func parseEmulator(c *urfave.Context) (*emulatorOptions, error) {
	o := &emulatorOptions{
		Global: parseGlobal(c),
		Data:   c.String(flagData),
		Addr:   c.String(flagAddr),
		Save:   c.Bool(flagSave),
	}
	if err := requireValue(c.Command.Name, flagData, o.Data, "the library file to serve, such as --data examples/library.json"); err != nil {
		return nil, err
	}
	for _, s := range imagekittest.Settings() {
		values := []string{c.String(s.Name)}
		if s.Kind == imagekittest.KindList {
			values = c.StringSlice(s.Name)
		}
		for _, v := range values {
			if err := o.Config.Set(s.Name, v); err != nil {
				return nil, err // it names the flag and the value
			}
		}
	}
	return o, nil
}

// runEmulator serves the library in o.Data on o.Addr until ctx ends,
// printing "listening on URL" first; with o.Save it writes the library
// back to o.Data at the end, if anything changed.
func runEmulator(ctx context.Context, e *env, o *emulatorOptions) error {
	logger, err := o.Global.logger(e.Err)
	if err != nil {
		return err
	}
	lib, err := imagekittest.OpenLibrary(ctx, o.Data)
	if err != nil {
		return fmt.Errorf("--%s: %w", flagData, err)
	}
	h := imagekittest.NewLibraryHandler(lib, o.Config.Options()...)
	srv, err := imagekittest.Listen(o.Addr, h)
	if err != nil {
		return fmt.Errorf("%w (pick another --%s)", err, flagAddr)
	}
	if _, err := fmt.Fprintf(e.Out, "listening on %s\n", srv.URL); err != nil {
		srv.Close()
		return fmt.Errorf("print the emulator address: %w", err)
	}
	logger.Info("emulator serving", "url", srv.URL, "files", lib.Len(), "data", o.Data)
	if err := srv.Wait(ctx); err != nil {
		return err
	}
	st := h.Stats()
	logger.Info("emulator stopped", "list", st.Requests.List, "details", st.Requests.Details,
		"removeTags", st.Requests.RemoveTags, "addTags", st.Requests.AddTags,
		"removeAITags", st.Requests.RemoveAITags, "delete", st.Requests.Delete,
		"rateLimited", st.RateLimited, "faults", st.Faults)
	switch {
	case !o.Save:
	case !lib.Changed():
		fmt.Fprintf(e.Err, "Nothing changed: %s is left as it was.\n", o.Data)
	default:
		if err := writeLibrary(o.Data, lib); err != nil {
			return fmt.Errorf("save the library to %s: %w", o.Data, err)
		}
		fmt.Fprintf(e.Err, "Saved the library to %s.\n", o.Data)
	}
	return nil
}
