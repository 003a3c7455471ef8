package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
)

// Names of flags shared by several commands.
const (
	flagLogLevel       = "log-level"
	flagLogFormat      = "log-format"
	flagNoColor        = "no-color"
	flagQuiet          = "quiet"
	flagAPIURL         = "api-url"
	flagPrivateKeyFile = "private-key-file"
	flagLibrary        = "library"
	flagManifest       = "file"
	flagReport         = "report"
	flagConcurrency    = "concurrency"
	flagTimeout        = "timeout"
)

// globalFlags are accepted before the command name and after it.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagLogLevel, Value: "warn", Usage: "log level: debug, info, warn or error (logs go to stderr)"},
		&cli.StringFlag{Name: flagLogFormat, Value: "text", Usage: "log format: text or json"},
		&cli.BoolFlag{Name: flagNoColor, Usage: "never colour the output (NO_COLOR is honoured too)"},
		&cli.BoolFlag{Name: flagQuiet, Aliases: []string{"q"}, Usage: "no progress bars"},
	}
}

// libraryFlags say where the library is: the API or a local snapshot.
func libraryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagAPIURL, EnvVars: []string{"IMAGEKIT_API_URL"}, Value: "https://api.imagekit.io",
			Usage: "ImageKit API base URL; plain http:// only for loopback hosts"},
		&cli.StringFlag{Name: flagPrivateKeyFile, Usage: "read the private API key from `FILE` (else IMAGEKIT_PRIVATE_KEY)", TakesFile: true},
		&cli.StringFlag{Name: flagLibrary, Usage: "work on a local library snapshot `FILE` (JSON) instead of the API; no key needed", TakesFile: true},
		&cli.DurationFlag{Name: flagTimeout, Value: api.DefaultTimeout,
			Usage: "give up on one HTTP request after `DUR` without a complete answer (it is then retried)"},
	}
}

func manifestFlag(required bool) cli.Flag {
	return &cli.StringSliceFlag{Name: flagManifest, Aliases: []string{"f"}, Required: required, TakesFile: true,
		Usage: "manifest `PATH` (a file, or a directory of *.yaml/*.yml); repeatable"}
}

func reportFlag(usage string) cli.Flag {
	return &cli.StringSliceFlag{Name: flagReport, TakesFile: true,
		Usage: usage + "; .json, .md (markdown) or .xml (JUnit); repeatable"}
}

// withGlobal appends the global flags to a command's own, so that they are
// accepted after the command name too.
func withGlobal(flags ...cli.Flag) []cli.Flag {
	return append(flags, globalFlags()...)
}

// global returns the value of a global string flag, preferring the one given
// after the command name, then the one before it, then the default.
func global(c *cli.Context, name string) string {
	for _, lc := range c.Lineage() {
		if lc.Command != nil && isSetHere(lc, name) || lc.Command == nil && lc.IsSet(name) {
			return lc.String(name)
		}
	}
	return c.String(name)
}

// globalBool is global for boolean flags.
func globalBool(c *cli.Context, name string) bool {
	for _, lc := range c.Lineage() {
		if lc.Bool(name) {
			return true
		}
	}
	return false
}

func isSetHere(c *cli.Context, name string) bool {
	for _, n := range c.LocalFlagNames() {
		if n == name {
			return true
		}
	}
	return false
}

// reorderArgs moves a command's flags in front of its positional arguments,
// so that `tagprune apply PLANFILE --report r.json` works: Go's flag parsing
// otherwise stops at the first positional argument.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	takesValue := flagArity(app.Flags)
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		out = append(out, args[i])
		if takesValue[flagKey(args[i])] && !strings.Contains(args[i], "=") && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
		i++
	}
	if i >= len(args) {
		return out
	}
	cmd := app.Command(args[i])
	out = append(out, args[i])
	i++
	if cmd == nil {
		return append(out, args[i:]...)
	}
	takesValue = flagArity(cmd.Flags)
	var flags, positional []string
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if takesValue[flagKey(a)] && !strings.Contains(a, "=") && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out = append(out, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// flagKey turns "--name=value" or "-n" into "name" or "n".
func flagKey(arg string) string {
	k := strings.TrimLeft(arg, "-")
	if i := strings.IndexByte(k, '='); i >= 0 {
		k = k[:i]
	}
	return k
}

// flagArity says, for each flag name and alias, whether it takes a value.
func flagArity(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			m[n] = !isBool
		}
	}
	return m
}
