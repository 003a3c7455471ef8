package cli

import (
	"fmt"
	"strings"
	"time"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
)

// Flag names, each written once.
const (
	flagLogLevel         = "log-level"
	flagLogFormat        = "log-format"
	flagNoColor          = "no-color"
	flagQuiet            = "quiet"
	flagAPIURL           = "api-url"
	flagPrivateKeyFile   = "private-key-file"
	flagLibrary          = "library"
	flagTimeout          = "timeout"
	flagManifest         = "file"
	flagFormat           = "format"
	flagOut              = "out"
	flagReport           = "report"
	flagBatchSize        = "batch-size"
	flagDetailedExitcode = "detailed-exitcode"
	flagAutoApprove      = "auto-approve"
	flagConcurrency      = "concurrency"
	flagMaxChanges       = "max-changes"
	flagGrace            = "grace"
	flagPath             = "path"
	flagMaxRateLimitWait = "max-rate-limit-wait"
	flagRule             = "rule"
)

// Environment variables, each written once.
const (
	envAPIURL     = "IMAGEKIT_API_URL"
	envPrivateKey = "IMAGEKIT_PRIVATE_KEY"
)

// Defaults that no other package defines. The others come from api and
// reconcile: api.DefaultBaseURL, api.DefaultTimeout, api.MaxRemoveTagsFiles,
// reconcile.DefaultConcurrency, reconcile.DefaultGrace, imagekittest.DefaultAddr.
const (
	defaultLogLevel  = "warn"
	defaultLogFormat = "text"
	defaultFormat    = "text"
	defaultReport    = "tagprune-report.json"
	// maxConcurrency bounds --concurrency: more calls in flight only meet
	// the rate limit sooner.
	maxConcurrency = 64
	// noLimit is the --max-changes value that sets no limit.
	noLimit = -1
	// wholeLibrary is the folder export reads when --path is not given.
	wholeLibrary = "/"
)

// globalOptions are the flags every command takes, before or after its name.
type globalOptions struct {
	LogLevel  string
	LogFormat string
	NoColor   bool
	Quiet     bool
}

// globalFlags are accepted before the command name and after it.
func globalFlags() []urfave.Flag {
	return []urfave.Flag{
		&urfave.StringFlag{Name: flagLogLevel, Value: defaultLogLevel, Usage: "log level (`LEVEL`): debug, info, warn or error (logs go to stderr)"},
		&urfave.StringFlag{Name: flagLogFormat, Value: defaultLogFormat, Usage: "log format (`FORMAT`): text or json"},
		&urfave.BoolFlag{Name: flagNoColor, Usage: "never colour the output (NO_COLOR is honoured too)"},
		&urfave.BoolFlag{Name: flagQuiet, Aliases: []string{"q"}, Usage: "no progress bars"},
	}
}

// withGlobal appends the global flags to a command's own, so that they are
// accepted after the command name too.
func withGlobal(flags ...urfave.Flag) []urfave.Flag {
	return append(flags, globalFlags()...)
}

// parseGlobal reads the global flags: for each, the value given after the
// command name, else the one given before it, else the default.
func parseGlobal(c *urfave.Context) globalOptions {
	return globalOptions{
		LogLevel:  globalString(c, flagLogLevel),
		LogFormat: globalString(c, flagLogFormat),
		NoColor:   globalBool(c, flagNoColor),
		Quiet:     globalBool(c, flagQuiet),
	}
}

func globalString(c *urfave.Context, name string) string {
	for _, lc := range c.Lineage() {
		if lc.Command != nil && isSetHere(lc, name) || lc.Command == nil && lc.IsSet(name) {
			return lc.String(name)
		}
	}
	return c.String(name)
}

func globalBool(c *urfave.Context, name string) bool {
	for _, lc := range c.Lineage() {
		if lc.Bool(name) {
			return true
		}
	}
	return false
}

func isSetHere(c *urfave.Context, name string) bool {
	for _, n := range c.LocalFlagNames() {
		if n == name {
			return true
		}
	}
	return false
}

// sourceOptions say where the library is: the API or a local snapshot.
type sourceOptions struct {
	APIURL           string
	PrivateKeyFile   string
	Library          string
	Timeout          time.Duration
	MaxRateLimitWait time.Duration // cap on one wait for the API's rate limit
}

// sourceFlags are the flags of sourceOptions.
func sourceFlags() []urfave.Flag {
	return []urfave.Flag{
		&urfave.StringFlag{Name: flagAPIURL, EnvVars: []string{envAPIURL}, Value: api.DefaultBaseURL,
			Usage: "ImageKit API base `URL`; plain http:// only for loopback hosts"},
		&urfave.StringFlag{Name: flagPrivateKeyFile, Usage: "read the private API key from `FILE` (else " + envPrivateKey + ")", TakesFile: true},
		&urfave.StringFlag{Name: flagLibrary, Usage: "work on a local library snapshot `FILE` (JSON) instead of the API; no key needed", TakesFile: true},
		&urfave.DurationFlag{Name: flagTimeout, Value: api.DefaultTimeout,
			Usage: "give up on one HTTP request after `DUR` without a complete answer (it is then retried)"},
		&urfave.DurationFlag{Name: flagMaxRateLimitWait, Value: api.DefaultRateLimitWait,
			Usage: "wait at most `DUR` when the API's rate limit asks for a pause (HTTP 429); a longer one fails the call"},
	}
}

func parseSource(c *urfave.Context) (sourceOptions, error) {
	o := sourceOptions{
		APIURL:           c.String(flagAPIURL),
		PrivateKeyFile:   c.String(flagPrivateKeyFile),
		Library:          c.String(flagLibrary),
		Timeout:          c.Duration(flagTimeout),
		MaxRateLimitWait: c.Duration(flagMaxRateLimitWait),
	}
	if o.Timeout <= 0 {
		return o, fmt.Errorf("--%s %s: want a positive duration such as %s", flagTimeout, o.Timeout, api.DefaultTimeout)
	}
	if o.MaxRateLimitWait <= 0 {
		return o, fmt.Errorf("--%s %s: want a positive duration such as %s", flagMaxRateLimitWait, o.MaxRateLimitWait, api.DefaultRateLimitWait)
	}
	return o, nil
}

func manifestFlag() urfave.Flag {
	return &urfave.StringSliceFlag{Name: flagManifest, Aliases: []string{"f"}, TakesFile: true,
		Usage: "manifest `PATH` (a file, or a directory of *.yaml/*.yml); repeatable"}
}

func reportFlag(usage string) urfave.Flag {
	return &urfave.StringSliceFlag{Name: flagReport, TakesFile: true,
		Usage: usage + "; .json, .md (markdown) or .xml (JUnit); repeatable"}
}

func batchSizeFlag() urfave.Flag {
	return &urfave.IntFlag{Name: flagBatchSize, Value: api.MaxRemoveTagsFiles,
		Usage: fmt.Sprintf("at most `N` files per call (removeTags, addTags, removeAITags), 1..%d", api.MaxRemoveTagsFiles)}
}

// checkBatchSize refuses a --batch-size the API would refuse.
func checkBatchSize(n int) error {
	if n < 1 || n > api.MaxRemoveTagsFiles {
		return fmt.Errorf("--%s %d: want 1..%d (the API takes at most %d files per call)",
			flagBatchSize, n, api.MaxRemoveTagsFiles, api.MaxRemoveTagsFiles)
	}
	return nil
}

// requireManifest refuses a command run without -f, in one line rather than
// with the whole help.
func requireManifest(command string, paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("no manifest: give one with -f PATH, such as 'tagprune %s -f tagprune.yaml' (see 'tagprune %s --help')",
			command, command)
	}
	return nil
}

// requireValue refuses a command run without the flag name, saying what the
// flag is for.
func requireValue(command, name, value, what string) error {
	if value == "" {
		return fmt.Errorf("missing --%s: give %s (see 'tagprune %s --help')", name, what, command)
	}
	return nil
}

// reorderArgs moves a command's flags in front of its positional arguments,
// so that `tagprune apply PLANFILE --report r.json` works: Go's flag parsing
// otherwise stops at the first positional argument.
func reorderArgs(app *urfave.App, args []string) []string {
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
func flagArity(flags []urfave.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*urfave.BoolFlag)
		for _, n := range f.Names() {
			m[n] = !isBool
		}
	}
	return m
}
