// Command devstack is what `make run` runs: the whole platform locally, with
// a demo of every module. See package contextworker/internal/dev/devstack.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"contextworker/internal/dev/devstack"
	_ "contextworker/modules/all" // the demos read the registry's declarations
)

func main() {
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := devstack.Run(ctx, devstack.Defaults(root)); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}
