// Command starter serves the HTTP API that starts and inspects workflows;
// see package contextworker/starter.
package main

import (
	"fmt"
	"os"

	_ "contextworker/modules/all" // the built-in modules
	"contextworker/registry"
	"contextworker/starter"
)

func main() {
	if err := starter.App(registry.Default()).Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}
