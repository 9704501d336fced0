// Command feedgen writes a deterministic synthetic product feed (see package
// feedgen) to a file or stdout and prints its statistics to stderr on one
// line.
//
//	feedgen -n 1000000 -format csv -bad 0.02 -o /tmp/feed.csv
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"contextworker/internal/dev/feedgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "feedgen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) (err error) {
	var o feedgen.Options
	fs := flag.NewFlagSet("feedgen", flag.ExitOnError) // exit 2 on a bad flag, 0 on -h
	fs.SetOutput(stderr)
	fs.IntVar(&o.N, "n", 1000, "number of product records")
	fs.Int64Var(&o.Seed, "seed", 1, "seed; the same seed and flags give byte-identical output")
	fs.Float64Var(&o.BadShare, "bad", 0.02, "share of records made invalid on purpose, 0 to 1")
	fs.StringVar(&o.Format, "format", "csv", "feed format: csv, jsonl, json, xml or yml")
	fs.BoolVar(&o.Gzip, "gzip", false, "gzip the output")
	fs.Float64Var(&o.Mutate, "mutate", 0, "share of records whose price changes versus -mutate 0")
	fs.BoolVar(&o.MutateName, "mutate-name", false, "the records -mutate changes get another name too")
	fs.IntVar(&o.SkipEvery, "skip-every", 0, "leave out every k-th record (0: none)")
	path := fs.String("o", "-", `output file, "-" for stdout`)
	fs.Parse(args) // ExitOnError: never returns an error
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (all options are flags)", fs.Args())
	}
	if err := o.Validate(); err != nil {
		return err // before creating the output file
	}

	out := stdout
	if *path != "-" {
		f, err := os.Create(*path)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
		out = f
	}
	start := time.Now()
	st, err := feedgen.Write(out, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s format=%s gzip=%t seed=%d elapsed=%s\n", st, o.Format, o.Gzip, o.Seed, time.Since(start).Round(time.Millisecond))
	return nil
}
