// Command worker runs Temporal workers for contextworker's modules.
package main

import (
	"os"

	_ "contextworker/modules/all"
	"contextworker/registry"
	"contextworker/worker"
)

func main() { os.Exit(worker.Main(registry.Default(), os.Args)) }
