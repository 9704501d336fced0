package deploy

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"contextworker/modules/deploy/manifest"
)

// Command is `worker deploy`, for the worker's CLI to mount: its
// `validate <file>…` subcommand checks ai-module.yaml files for CI.
func Command() *cli.Command {
	return &cli.Command{
		Name:  "deploy",
		Usage: "deploy module tools",
		Subcommands: []*cli.Command{{
			Name:      "validate",
			Usage:     "validate ai-module.yaml files strictly, printing every problem with its line",
			ArgsUsage: "<file>...",
			Action: func(c *cli.Context) error {
				return Validate(c.App.Writer, c.Args().Slice())
			},
		}},
	}
}

// ErrInvalidManifest is returned by Validate when a file has problems.
var ErrInvalidManifest = errors.New("invalid manifest")

// Validate checks each manifest file, writing "<file>: ok" or every
// problem (file:line: path: message) to w. It returns ErrInvalidManifest
// when any file has a problem, after checking them all.
func Validate(w io.Writer, files []string) error {
	if len(files) == 0 {
		return errors.New("deploy validate: name at least one ai-module.yaml")
	}
	bad := 0
	for _, f := range files {
		data, err := readBounded(f)
		if err == nil {
			_, err = manifest.Parse(f, data)
		}
		if err == nil {
			fmt.Fprintf(w, "%s: ok\n", f)
			continue
		}
		bad++
		if errs := manifest.Errors(err); len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintln(w, e.Error())
			}
		} else {
			fmt.Fprintf(w, "%s: %v\n", f, err)
		}
	}
	if bad > 0 {
		return fmt.Errorf("deploy validate: %w: %d of %d files", ErrInvalidManifest, bad, len(files))
	}
	return nil
}

// readBounded reads a file of at most manifest.MaxBytes (one byte more is
// read, so Parse reports the size).
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, manifest.MaxBytes+1))
}
