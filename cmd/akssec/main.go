// Command akssec checks, explains and enforces the defense-in-depth of Azure
// Kubernetes Service clusters. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/akssec/akssec/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
