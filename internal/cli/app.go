// Package cli is tagprune's command line: one file per command, each parsing
// its flags once into an options struct that its run function takes. It adds
// the hints meant for people and maps errors to exit codes; the work itself
// is done by manifest, api and reconcile.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/internal/suggest"
)

// Streams are the standard input, output and error of a run.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// env is what every command's run function gets besides its options.
type env struct {
	Streams
	build   Build      // what the build stamped
	version string     // the version string, "dev" for a build from source
	intr    *interrupt // the run's signals and requests in flight
}

// Run runs the command line args (args[0] is the program name) with the
// given streams and returns the process exit code. version is the version
// set at build time, or "dev". Run prints every error itself, once.
//
// The run stops when ctx ends or at the first SIGINT or SIGTERM, whichever
// comes first: no API request starts after it. A second signal abandons the
// requests in flight. Run follows the signals itself, so that the second
// one is seen even though the caller's signal.NotifyContext takes only one.
func Run(ctx context.Context, args []string, s Streams, version string) int {
	return RunBuild(ctx, args, s, Build{Version: version})
}

// RunBuild is Run for a build that stamped its commit as well as its
// version, as a release does (see Build).
func RunBuild(ctx context.Context, args []string, s Streams, b Build) int {
	if words, ok := completionRequest(args); ok {
		writeCompletions(newApp(newEnv(s, b)), words, s.Out)
		return exitOK
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return run(ctx, args, s, b, sigs)
}

// run is RunBuild with the signals read from sigs.
func run(ctx context.Context, args []string, s Streams, b Build, sigs <-chan os.Signal) int {
	ctx, stop := context.WithCancelCause(ctx)
	e := newEnv(s, b)
	e.intr.watch(ctx)
	done := make(chan struct{})
	go e.intr.follow(sigs, stop, done)
	app := newApp(e)
	err := app.RunContext(ctx, reorderArgs(app, helpArgs(args)))
	e.intr.during(nil, nil) // the run is over: nothing left to stop
	close(done)
	stop(nil)
	printError(s.Err, err)
	return exitCode(err)
}

func newEnv(s Streams, b Build) *env {
	return &env{Streams: s, build: b, version: resolveVersion(b.Version), intr: newInterrupt(s.Err)}
}

// action is a command's action: it parses the command's flags once into its
// options, then runs the command with them.
func action[O any](e *env, parse func(*urfave.Context) (O, error), run func(context.Context, *env, O) error) urfave.ActionFunc {
	return func(c *urfave.Context) error {
		o, err := parse(c)
		if err != nil {
			return err
		}
		return run(c.Context, e, o)
	}
}

// NewApp returns the urfave/cli application: its commands, their flags and
// their actions. Run is the way to run it; tests read its definition.
func NewApp(s Streams, version string) *urfave.App {
	return newApp(newEnv(s, Build{Version: version}))
}

func newApp(e *env) *urfave.App {
	s := e.Streams
	app := &urfave.App{
		Name:  "tagprune",
		Usage: "keep an ImageKit library's tags in line with a manifest kept in git",
		Description: `A manifest names, for groups of files, the tags they must not carry, and
optionally tags to rename and AITags to drop. 'plan' shows what would change and
changes nothing; 'apply' makes those changes through ImageKit's bulk tag calls
and writes a report; 'restore' undoes an apply from its report. Run
'tagprune COMMAND --help' for a command's flags.

Examples:
  tagprune plan -f examples/manifest.yaml --library examples/library.json   # try it offline
  tagprune validate -f tagprune.yaml
  IMAGEKIT_PRIVATE_KEY=... tagprune plan -f tagprune.yaml --detailed-exitcode
  IMAGEKIT_PRIVATE_KEY=... tagprune apply -f tagprune.yaml --auto-approve --max-changes 500
  IMAGEKIT_PRIVATE_KEY=... tagprune restore tagprune-report.json --dry-run
  tagprune --log-level debug plan -f tagprune.yaml --library library.json`,
		Version:              versionString(e.build),
		Reader:               s.In,
		Writer:               s.Out,
		ErrWriter:            s.Err,
		Flags:                globalFlags(),
		EnableBashCompletion: false,
		HideHelpCommand:      true,
		ExitErrHandler:       func(*urfave.Context, error) {},
		OnUsageError:         usageError,
		Before:               knownCommand,
		Commands: []*urfave.Command{
			validateCommand(e),
			planCommand(e),
			applyCommand(e),
			restoreCommand(e),
			exportCommand(e),
			schemaCommand(e),
			emulatorCommand(e),
			completionCommand(e),
			manCommand(e),
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	return app
}

// helpArgs turns "tagprune help [COMMAND]" into "tagprune [COMMAND] --help".
func helpArgs(args []string) []string {
	if len(args) < 2 || args[1] != "help" {
		return args
	}
	out := append([]string{args[0]}, args[2:]...)
	return append(out, "--help")
}

// usageError turns a flag parsing error into one line that suggests the
// closest flag, instead of printing the whole help.
func usageError(c *urfave.Context, err error, _ bool) error {
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
		if best := suggest.Closest(given, names); best != "" {
			return fmt.Errorf("%s: unknown flag --%s; did you mean --%s? (see '%s')", name, given, best, help)
		}
		return fmt.Errorf("%s: unknown flag --%s (see '%s')", name, given, help)
	}
	return fmt.Errorf("%s: %w (see '%s')", name, err, help)
}

// knownCommand refuses an unknown command name with a suggestion, before
// urfave/cli would answer it with a help lookup.
func knownCommand(c *urfave.Context) error {
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
	if best := suggest.Closest(given, names); best != "" {
		return fmt.Errorf("unknown command %q; did you mean %q? (see 'tagprune --help')", given, best)
	}
	return fmt.Errorf("unknown command %q: the commands are %s (see 'tagprune --help')", given, strings.Join(names, ", "))
}
