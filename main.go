// Command tagprune keeps an ImageKit media library's tags in line with a
// manifest kept in git: validate, plan (a dry run), apply, and an emulator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
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
	err := app.RunContext(ctx, reorderArgs(app, args))
	code := exitCode(err)
	if err != nil && !errors.Is(err, errSilent) {
		var ee *exitErr
		if !errors.As(err, &ee) || ee.err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
		}
	}
	return code
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
	return &cli.App{
		Name:  "tagprune",
		Usage: "keep an ImageKit library's tags in line with a manifest kept in git",
		Description: "A manifest lists the tags that must not appear on groups of files. " +
			"'plan' shows what would be removed, 'apply' removes it through ImageKit's " +
			"bulk Remove Tags API and writes a report.",
		Version:              versionString(),
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		Flags:                globalFlags(),
		EnableBashCompletion: false,
		HideHelpCommand:      true,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see 'tagprune %s --help')", err, c.Command.Name)
		},
		Commands: []*cli.Command{
			validateCommand(),
			planCommand(),
			applyCommand(),
			exportCommand(),
			schemaCommand(),
			emulatorCommand(),
		},
	}
}
