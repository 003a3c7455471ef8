package cli

import (
	"context"
	"fmt"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// Flags of tagprune emulator.
const (
	flagData         = "data"
	flagAddr         = "addr"
	flagPrivateKey   = "private-key"
	flagRateLimit    = "rate-limit"
	flagLatency      = "latency"
	flagFailRate     = "fail-rate"
	flagPartialRate  = "partial-rate"
	flagSeed         = "seed"
	flagSave         = "save"
	flagFailFile     = "fail-file"
	flagDropRate     = "drop-rate"
	flagHangRate     = "hang-rate"
	flagSpikeRate    = "spike-rate"
	flagSpikeLatency = "spike-latency"
)

// emulatorOptions are the flags of tagprune emulator: the emulator's own
// configuration, and the logging flags.
type emulatorOptions struct {
	Global globalOptions
	Config imagekittest.Config
}

func emulatorCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "emulator",
		Usage:     "serve a library file as a local ImageKit API (for tests, demos and trying manifests)",
		UsageText: "tagprune emulator --data FILE [--addr HOST:PORT] [--private-key KEY] [--rate-limit N] [--latency DUR] [--fail-rate P] [--partial-rate P] [--seed N] [--save]",
		Description: `Serves the library in FILE with the ImageKit API's endpoints, shapes, status
codes and rate-limit headers. The first line on stdout is "listening on http://HOST:PORT".
Faults are deterministic for a given --seed.

Examples:
  tagprune emulator --data examples/library.json --addr 127.0.0.1:8080
  IMAGEKIT_API_URL=http://127.0.0.1:8080 IMAGEKIT_PRIVATE_KEY=any-key-will-do tagprune plan -f examples/manifest.yaml
  tagprune emulator --data lib.json --rate-limit 20 --latency 150ms --partial-rate 0.1 --seed 7`,
		Flags: withGlobal(
			&urfave.StringFlag{Name: flagData, TakesFile: true, Usage: "library `FILE` (a JSON array of ImageKit file objects)"},
			&urfave.StringFlag{Name: flagAddr, Value: imagekittest.DefaultAddr, Usage: "listen address; port 0 picks a free port"},
			&urfave.StringFlag{Name: flagPrivateKey, Usage: "require Basic auth with this key as user name (default: no auth)"},
			&urfave.IntFlag{Name: flagRateLimit, Usage: "requests per second per endpoint (0: unlimited)"},
			&urfave.DurationFlag{Name: flagLatency, Usage: "added to every API request"},
			&urfave.Float64Flag{Name: flagFailRate, Usage: "fraction of API requests answered 500, changing nothing"},
			&urfave.Float64Flag{Name: flagPartialRate, Usage: "fraction of removeTags calls answered 207, failing some files"},
			&urfave.Int64Flag{Name: flagSeed, Value: defaultSeed, Usage: "seed of the fault injection"},
			&urfave.BoolFlag{Name: flagSave, Usage: "write the library back to --data on shutdown"},
			&urfave.StringSliceFlag{Name: flagFailFile, Usage: "a fileId that removeTags always fails (in a 207); repeatable"},
			&urfave.Float64Flag{Name: flagDropRate, Usage: "fraction of API requests whose connection is closed mid-response"},
			&urfave.Float64Flag{Name: flagHangRate, Usage: "fraction of API requests that never get an answer"},
			&urfave.Float64Flag{Name: flagSpikeRate, Usage: "fraction of API requests delayed by --spike-latency"},
			&urfave.DurationFlag{Name: flagSpikeLatency, Value: 0, Usage: "extra delay of a latency spike"},
		),
		Action: func(c *urfave.Context) error {
			o, err := parseEmulator(c)
			if err != nil {
				return err
			}
			return runEmulator(c.Context, e, o)
		},
	}
}

func parseEmulator(c *urfave.Context) (*emulatorOptions, error) {
	o := &emulatorOptions{
		Global: parseGlobal(c),
		Config: imagekittest.Config{
			Data:         c.String(flagData),
			Addr:         c.String(flagAddr),
			PrivateKey:   c.String(flagPrivateKey),
			RateLimit:    c.Int(flagRateLimit),
			Latency:      c.Duration(flagLatency),
			FailRate:     c.Float64(flagFailRate),
			PartialRate:  c.Float64(flagPartialRate),
			Seed:         c.Int64(flagSeed),
			Save:         c.Bool(flagSave),
			FailFiles:    c.StringSlice(flagFailFile),
			DropRate:     c.Float64(flagDropRate),
			HangRate:     c.Float64(flagHangRate),
			SpikeRate:    c.Float64(flagSpikeRate),
			SpikeLatency: c.Duration(flagSpikeLatency),
		},
	}
	if err := requireValue(c.Command.Name, flagData, o.Config.Data, "the library file to serve, such as --data examples/library.json"); err != nil {
		return nil, err
	}
	cfg := o.Config
	for _, f := range []struct {
		name string
		p    float64
	}{
		{flagFailRate, cfg.FailRate}, {flagPartialRate, cfg.PartialRate}, {flagDropRate, cfg.DropRate},
		{flagHangRate, cfg.HangRate}, {flagSpikeRate, cfg.SpikeRate},
	} {
		if f.p < 0 || f.p > 1 {
			return nil, fmt.Errorf("--%s %v: want a fraction between 0 and 1", f.name, f.p)
		}
	}
	return o, nil
}

func runEmulator(ctx context.Context, e *env, o *emulatorOptions) error {
	logger, err := o.Global.logger(e.Err)
	if err != nil {
		return err
	}
	return imagekittest.Run(ctx, o.Config, e.Out, logger)
}
