// Command tagprune keeps an ImageKit media library's tags in line with a
// manifest kept in git. The command line lives in internal/cli; this file
// only starts it, so that `go install github.com/tagprune/tagprune@latest` works.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tagprune/tagprune/internal/cli"
)

// version and commit are stamped by a release build:
// -ldflags "-X main.version=v1.2.3 -X main.commit=<full git commit>".
// A build from source keeps these values, and --version then reports what
// the Go toolchain recorded (the module version, the VCS revision).
var (
	version = "dev"
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.RunBuild(ctx, os.Args, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr},
		cli.Build{Version: version, Commit: commit})
	stop()
	os.Exit(code)
}
