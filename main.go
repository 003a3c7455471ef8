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

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, version)
	stop()
	os.Exit(code)
}
