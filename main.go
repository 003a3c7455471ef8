// Command tagprune keeps an ImageKit media library's tags in line with a
// manifest kept in git: validate, plan (a dry run), apply, and an emulator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
)

// Exit codes, as DESIGN.md section 3 promises them.
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2
	exitIncomplete  = 3
	exitStale       = 4
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, reorderArgs(app, helpArgs(args)))
	code := exitCode(err)
	if err != nil && !errors.Is(err, errSilent) {
		var ee *exitErr
		if !errors.As(err, &ee) || ee.err != nil {
			if head := headline(err); head != "" {
				fmt.Fprintf(stderr, "Error: %s\n  Details: %v\n", head, err)
			} else {
				fmt.Fprintf(stderr, "Error: %v\n", err)
			}
		}
	}
	return code
}

// headline says in one sentence what to do about the API errors a new user
// meets first (a refused key, an unreachable API), ahead of the details;
// it returns "" for other errors.
func headline(err error) string {
	var ae *api.Error
	if !errors.As(err, &ae) || errors.Is(err, context.Canceled) {
		return ""
	}
	where := ae.URL
	if u, perr := url.Parse(ae.URL); perr == nil && u.Host != "" {
		where = u.Scheme + "://" + u.Host
	}
	switch {
	case errors.Is(err, api.ErrAuth) && ae.StatusCode == http.StatusUnauthorized:
		return fmt.Sprintf("the API at %s refused the private key (HTTP 401): set IMAGEKIT_PRIVATE_KEY, or --private-key-file FILE, to the account's private API key", where)
	case errors.Is(err, api.ErrAuth):
		return fmt.Sprintf("the API at %s refused this operation for the private key (HTTP %d): use a key allowed to manage files in IMAGEKIT_PRIVATE_KEY or --private-key-file", where, ae.StatusCode)
	case errors.Is(err, api.ErrTransport):
		return fmt.Sprintf("cannot reach the API at %s: check --api-url (or IMAGEKIT_API_URL) and the network", where)
	}
	return ""
}

// helpArgs turns "tagprune help [COMMAND]" into "tagprune [COMMAND] --help".
func helpArgs(args []string) []string {
	if len(args) < 2 || args[1] != "help" {
		return args
	}
	out := append([]string{args[0]}, args[2:]...)
	return append(out, "--help")
}

// errSilent marks an error that has already been shown to the user.
var errSilent = errors.New("already reported")

// exitErr carries an exit code other than 1 through urfave/cli.
type exitErr struct {
	code int
	err  error // nil when there is nothing more to print
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

// exitCode maps an error to the exit code of DESIGN.md section 3, in one place.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	return exitError
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "tagprune",
		Usage: "keep an ImageKit library's tags in line with a manifest kept in git",
		Description: `A manifest lists the tags that must not appear on groups of files. 'plan'
shows what would be removed, 'apply' removes it through ImageKit's bulk Remove
Tags API and writes a report. Run 'tagprune COMMAND --help' for a command's flags.

Examples:
  tagprune plan -f examples/manifest.yaml --library examples/library.json   # try it offline
  tagprune validate -f tagprune.yaml
  IMAGEKIT_PRIVATE_KEY=... tagprune plan -f tagprune.yaml --detailed-exitcode
  IMAGEKIT_PRIVATE_KEY=... tagprune apply -f tagprune.yaml --auto-approve
  tagprune --log-level debug plan -f tagprune.yaml --library library.json`,
		Version:              versionString(),
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		Flags:                globalFlags(),
		EnableBashCompletion: false,
		HideHelpCommand:      true,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         usageError,
		Before:               knownCommand,
		Commands: []*cli.Command{
			validateCommand(),
			planCommand(),
			applyCommand(),
			exportCommand(),
			schemaCommand(),
			emulatorCommand(),
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	return app
}

// usageError turns a flag parsing error into one line that suggests the
// closest flag, instead of printing the whole help.
func usageError(c *cli.Context, err error, _ bool) error {
	name, flags, help := "tagprune", c.App.Flags, "tagprune --help"
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		name, flags, help = "tagprune "+c.Command.Name, c.Command.Flags, "tagprune "+c.Command.Name+" --help"
	}
	const undefined = "flag provided but not defined: -"
	if msg := err.Error(); strings.HasPrefix(msg, undefined) {
		given := strings.TrimLeft(strings.TrimPrefix(msg, undefined), "-")
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		if best := closest(given, names); best != "" {
			return fmt.Errorf("%s: unknown flag --%s; did you mean --%s? (see '%s')", name, given, best, help)
		}
		return fmt.Errorf("%s: unknown flag --%s (see '%s')", name, given, help)
	}
	return fmt.Errorf("%s: %w (see '%s')", name, err, help)
}

// knownCommand refuses an unknown command name with a suggestion, before
// urfave/cli would answer it with a help lookup.
func knownCommand(c *cli.Context) error {
	if !c.Args().Present() {
		return nil
	}
	given := c.Args().First()
	if c.App.Command(given) != nil {
		return nil
	}
	var names []string
	for _, cmd := range c.App.Commands {
		names = append(names, cmd.Name)
	}
	if best := closest(given, names); best != "" {
		return fmt.Errorf("unknown command %q; did you mean %q? (see 'tagprune --help')", given, best)
	}
	return fmt.Errorf("unknown command %q: the commands are %s (see 'tagprune --help')", given, strings.Join(names, ", "))
}

// closest returns the name nearest to given, or "" when none is near enough
// to be a likely typo.
func closest(given string, names []string) string {
	best, bestD := "", 0
	for _, n := range names {
		if len(n) < 2 {
			continue
		}
		d := levenshtein(strings.ToLower(given), strings.ToLower(n))
		if best == "" || d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" || bestD > max(2, len(best)/3) {
		return ""
	}
	return best
}

// levenshtein is the edit distance between a and b, in bytes; flag and
// command names are ASCII.
func levenshtein(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			diag, row[j] = row[j], min(row[j]+1, row[j-1]+1, diag+cost)
		}
	}
	return row[len(b)]
}
