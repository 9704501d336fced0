// Package bench is `make bench`: end-to-end harvest benchmarks on this
// machine. It generates feeds of 100k and 1M products, serves them on
// loopback, harvests them with a real worker process against a real dev
// server and PostgreSQL, and prints wall time, products/s, the worker's peak
// RSS and the history length — beside the time `psql \copy` takes to load
// the same file, the physical limit we measure against. It is a tool, not a
// test: it asserts nothing and prints figures.
package bench

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"contextworker/internal/dev/devserver"
	"contextworker/internal/dev/feedgen"
	"contextworker/internal/dev/localpg"
	"contextworker/internal/pg"
	wf "contextworker/workflows/harvest"
)

// Options select the benchmark sizes.
type Options struct {
	Root  string
	Sizes []int
	// GardenerSizes are the sizes whose catalogue is also enriched by a
	// full gardener run (llm off).
	GardenerSizes []int
	// Stock also harvests each size on a second server started with
	// PostgreSQL's default settings, and prints its ratios to its COPY.
	Stock bool
	// OneTenant puts every size's supplier in one tenant, "bench": the
	// gardener's set-based passes then group the products the sizes
	// share (feedgen's catalogues share their first products), as a
	// tenant with overlapping suppliers would.
	OneTenant bool
	// GardenerConfig and HarvestConfig are YAML added to the worker's
	// modules.gardener and modules.harvest sections (each line indented
	// by four spaces), to compare settings.
	GardenerConfig, HarvestConfig string
	// IncrementalRuns is the number of incremental gardener runs at each
	// gardener size (0 is 1), each after a re-harvest that changes a tenth
	// of the products; the figure is their median.
	IncrementalRuns int
	// PerfControl is the control fifo of a perf record started with
	// --control fifo:PATH -D -1: the bench enables it for the incremental
	// runs alone ("" for none).
	PerfControl string
	// Runs is how many first loads, and how many unchanged re-harvests,
	// each figure is the median of (0 is 3).
	Runs int
	// NoWarmup drops the untimed warm-up first load and re-harvest that
	// each catalogue otherwise gets on each server before its timed runs
	// (see loader.warmup).
	NoWarmup bool
	// HugePages puts the tuned server's shared memory on huge pages the
	// bench reserves for the run (as root; see hugepages.go).
	HugePages bool
	// Feed is a catalogue file of the user's own (not generated), harvested
	// after the sizes, beside its own psql \copy, on both servers with
	// Stock. FeedInput is the harvest workflow's JSON input for it (format,
	// delimiter, mapping, ...); the bench sets tenant, supplier, URL and
	// force. With FeedGardener the gardener enriches it too, and
	// FeedChanged, a changed version of the file, gives the incremental
	// runs (without it, they are not measured).
	Feed, FeedInput, FeedChanged string
	FeedGardener                 bool
	Out                          io.Writer
}

// catalogue is one feed the bench harvests: a generated size, or the
// user's own file (Options.Feed).
type catalogue struct {
	// label names it in the figures: the size, or the file's name.
	label string
	// gen describes a generated feed (nil: the user's file).
	gen      *feedgen.Options
	path     string
	url      string
	supplier string
	// input is the harvest's input but for the URL.
	input    wf.Input
	gardener bool
	// changes are the changed feeds of the incremental runs.
	changes []change
}

// change is a changed version of a catalogue's feed, for incremental runs.
type change struct {
	what string // what changed in the products that changed
	url  string
	// path and gen are a generated change's file and how to make it.
	path string
	gen  *feedgen.Options
}

// harvestOf is the catalogue's harvest input for the feed at url.
func (c catalogue) harvestOf(url string) wf.Input {
	in := c.input
	in.FeedURL = url
	return in
}

// Result is one size's figures.
type Result struct {
	Label     string
	FeedBytes int64
	// Own: the user's own catalogue (-feed), not a generated size.
	Own bool
	figures
	HistoryLength  int64
	Runs           int
	WorkerPeakRSS  int64
	HarvestReport  wf.Report
	RehearvestRept wf.Report
	// Gardener is nil when the size was not enriched.
	Gardener *GardenerResult
}

// Run runs the benchmarks and prints the figures.
func Run(ctx context.Context, o Options) error {
	oneTenant = o.OneTenant
	dir := filepath.Join(o.Root, ".data", "bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	say := func(f string, a ...any) { fmt.Fprintf(o.Out, "» "+f+"\n", a...) }

	cluster, err := localpg.Start(ctx, localpg.Options{Dir: filepath.Join(dir, "pg")})
	if err != nil {
		return err
	}
	// cluster is replaced by the restart below: stop the last one.
	defer func() { cluster.Stop(context.WithoutCancel(ctx)) }() //nolint:errcheck // best effort at exit
	// Server settings for a 24 GiB machine rather than the 128 MiB
	// defaults; psql \copy and the harvest run on the same server.
	admin, err := pg.Connect(ctx, cluster.DSN("postgres"), 1, time.Minute, nil)
	if err != nil {
		return err
	}
	// wal_compression stays off (the default): it compresses the index
	// pages a first load's primary key build writes to WAL, 1 s of 4.
	// RESET ALL first: the cluster outlives a bench, and a setting tried
	// by hand on it (ALTER SYSTEM) must not carry into the next figures.
	for _, set := range []string{"RESET ALL", "SET shared_buffers = '2GB'", "SET max_wal_size = '8GB'", "SET checkpoint_timeout = '30min'", "SET wal_compression = off"} {
		if _, err := admin.Exec(ctx, "ALTER SYSTEM "+set); err != nil {
			admin.Close()
			return err
		}
	}
	admin.Close()
	if err := cluster.Stop(ctx); err != nil {
		return err
	}
	restarted, err := localpg.Start(ctx, localpg.Options{Dir: filepath.Join(dir, "pg"), Port: cluster.Port()})
	if err != nil {
		return err // the deferred Stop finds the stopped cluster, not nil
	}
	cluster = restarted
	huge := hugePages{root: "/"}
	defer func() {
		if err := huge.release(); err != nil {
			say("giving back the huge pages: %v", err)
		}
	}()
	if o.HugePages {
		if cluster, err = onHugePages(ctx, cluster, &huge, say); err != nil {
			return err
		}
	}
	// A fresh database each time: figures must not depend on earlier runs.
	admin, err = pg.Connect(ctx, cluster.DSN("postgres"), 1, time.Minute, nil)
	if err != nil {
		return err
	}
	_, err = admin.Exec(ctx, `DROP DATABASE IF EXISTS bench WITH (FORCE)`)
	admin.Close()
	if err != nil {
		return err
	}
	if err := cluster.CreateDatabase(ctx, "bench"); err != nil {
		return err
	}
	dsn := cluster.DSN("bench")
	db, err := pg.Connect(ctx, dsn, 4, time.Minute, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := pg.Migrate(ctx, db, nil); err != nil {
		return err
	}
	say("PostgreSQL on port %d", cluster.Port())
	machine := damonNote("/")
	if machine != "" {
		say("%s", machine)
	}

	dev, err := devserver.Start(ctx, devserver.Options{Exe: filepath.Join(o.Root, "bin", "temporal"), LogLevel: "error"})
	if err != nil {
		return fmt.Errorf("dev server: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = dev.Stop(sctx)
	}()
	tc := dev.Client()
	say("Temporal dev server on %s", dev.HostPort)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	cats, err := catalogues(o, ln.Addr().String(), dir, mux)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Close()

	// parallelism 2: one merge per core of this 2-core machine; 4 merges
	// at once only contend with each other and PostgreSQL (measured at 1M:
	// merges 18 s with 4, 16 s with 2).
	// The gardener's watermark overlap guards against harvest transactions
	// still in flight when a run takes its watermark. Here harvests and
	// gardener runs take turns; with the default hour every run would redo
	// every product harvested within the hour, and the incremental figure
	// would measure a full run.
	cfgPath := filepath.Join(dir, "temporal.yaml")
	cfg := fmt.Sprintf("temporal: {address: %q}\nlog: {format: text, level: info}\nmodules:\n  harvest:\n    chain_gardener: false\n    parallelism: 2\n    network: {allow_loopback: true}\n%s  gardener:\n    watermark_overlap: 0s\n%s", dev.HostPort, o.HarvestConfig, o.GardenerConfig)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	worker, stopWorker, err := startWorker(o.Root, cfgPath, dsn, filepath.Join(dir, "worker.log"))
	if err != nil {
		return err
	}
	defer stopWorker()
	meter := cpuMeter{pgDir: cluster.Dir(), worker: worker.Process.Pid}

	var results []Result
	for _, c := range cats {
		if err := ensure(c, say); err != nil {
			return err
		}
		st, err := os.Stat(c.path)
		if err != nil {
			return err
		}
		r := Result{Label: c.label, FeedBytes: st.Size(), Own: c.gen == nil}
		loads := loader{tc: tc, db: db, dsn: dsn, meter: meter, say: say, runs: harvestRuns(o), warmup: !o.NoWarmup}
		first, firstWarmup, err := loads.firstLoads(ctx, c, "")
		if err != nil {
			return err
		}
		if err := loads.settle(ctx, c, ""); err != nil {
			return err
		}
		again, againWarmup, written, err := loads.unchanged(ctx, c, "")
		if err != nil {
			return err
		}
		r.figures = figuresOf(first, again, firstWarmup, againWarmup, written)
		r.HarvestReport, r.RehearvestRept = first.report(), again.report()
		r.HistoryLength, r.Runs, err = history(ctx, tc, wf.WorkflowID(tenantOf(c.supplier), c.supplier))
		if err != nil {
			return err
		}
		r.WorkerPeakRSS = peakRSS(worker.Process.Pid)
		if c.gardener {
			g := gardenerBench{tc: tc, db: db, dsn: dsn, dir: dir, cat: c, say: say, meter: meter,
				runs: o.IncrementalRuns, perf: o.PerfControl}
			if r.Gardener, err = g.run(ctx); err != nil {
				return err
			}
			r.Gardener.PeakRSS = peakRSS(worker.Process.Pid)
		}
		results = append(results, r)
	}
	print(o.Out, results)
	if !o.Stock {
		printGoals(o.Out, results, nil, machine)
		return nil
	}
	// The stock server gets a worker of its own: the one above stops
	// first, so that the harvest task queue has one database behind it.
	// The tuned server keeps running: its dirty buffers are written out
	// now, not by a checkpoint inside a stock run.
	stopWorker()
	if err := quiesce(ctx, db); err != nil {
		return err
	}
	stock, err := runStock(ctx, stockRun{root: o.Root, dir: dir, cfgPath: cfgPath, tc: tc, cats: cats, say: say, runs: harvestRuns(o), warmup: !o.NoWarmup})
	if err != nil {
		return err
	}
	printStock(o.Out, results, stock)
	printGoals(o.Out, results, stock, machine)
	return nil
}

// startWorker starts bin/worker on dsn; stop (idempotent) ends it.
func startWorker(root, cfgPath, dsn, logPath string) (*exec.Cmd, func(), error) {
	worker := exec.Command(filepath.Join(root, "bin", "worker"), "--config", cfgPath, "--modules", "harvest,gardener")
	worker.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	wlog, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	worker.Stdout, worker.Stderr = wlog, wlog
	if err := worker.Start(); err != nil {
		wlog.Close()
		return nil, nil, err
	}
	var once sync.Once
	return worker, func() {
		once.Do(func() {
			worker.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
			worker.Wait()                          //nolint:errcheck // its exit status is not a figure
			wlog.Close()
		})
	}, nil
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// phases reads where a run's time went from its harvest_runs row.
func phases(ctx context.Context, db *pgxpool.Pool, runID string) string {
	var stage, merge, finish float64
	var seal *float64
	// A first load's seal (the key build, mostly) runs from its
	// transaction's start, which every loaded row carries as first_seen,
	// to staged_at, which it sets last; part -1 marks a first load.
	err := db.QueryRow(ctx, `SELECT extract(epoch FROM staged_at - started_at)::float8,
			coalesce(extract(epoch FROM deactivated_at - staged_at)::float8, 0),
			extract(epoch FROM finished_at - coalesce(deactivated_at, staged_at))::float8,
			(SELECT extract(epoch FROM r.staged_at - p.first_seen)::float8
				FROM harvest_parts h, LATERAL (SELECT first_seen FROM products
					WHERE tenant_id = r.tenant_id AND supplier_code = r.supplier_code AND last_run_id = r.run_id LIMIT 1) p
				WHERE h.run_id = r.run_id AND h.part = -1)
		FROM harvest_runs r WHERE run_id = $1`, runID).Scan(&stage, &merge, &finish, &seal)
	if err != nil {
		return fmt.Sprintf(" (phases: %v)", err)
	}
	of := ""
	if seal != nil {
		of = fmt.Sprintf(" (of which the seal, mostly the key build, %.2fs)", *seal)
	}
	return fmt.Sprintf(": begin+stage %.2fs%s, merge+deactivate %.2fs, finish %.2fs", stage, of, merge, finish)
}

// cpuOf reports the CPU time the worker and the server used since c0.
func cpuOf(meter cpuMeter, c0 cpuSample) string {
	d := meter.sample().sub(c0)
	return fmt.Sprintf("; cpu: worker %s, server %s", secs(d.worker), secs(d.server))
}

// copyBaseline loads the catalogue's file with psql \copy into a table of
// the feed's shape and returns the wall time: one text column per CSV
// column; for other formats (JSON, XML), one text column holding each
// line. A gzipped file is read through gzip -dc, and a declared encoding
// is COPY's ENCODING.
func copyBaseline(ctx context.Context, dsn string, c catalogue) (time.Duration, error) {
	from, encoding, err := copySource(c)
	if err != nil {
		return 0, err
	}
	if !isCSV(c) {
		return psqlCopy(ctx, dsn, "CREATE TABLE bench_copy (line text)", from, `FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02'`+encoding)
	}
	f, err := os.Open(c.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var text io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(c.path, ".gz") {
		if text, err = gzip.NewReader(text); err != nil {
			return 0, fmt.Errorf("%s: %w", c.path, err)
		}
	}
	r := csv.NewReader(text)
	delim := ","
	if c.input.Delimiter != "" {
		delim = c.input.Delimiter
		r.Comma = []rune(delim)[0]
	}
	r.LazyQuotes = true
	header, err := r.Read()
	if err != nil {
		return 0, fmt.Errorf("%s: header: %w", c.path, err)
	}
	cols := make([]string, len(header))
	for i := range header {
		cols[i] = fmt.Sprintf("c%d text", i+1)
	}
	return psqlCopy(ctx, dsn, "CREATE TABLE bench_copy ("+strings.Join(cols, ", ")+")", from,
		"FORMAT csv, HEADER true, DELIMITER "+literal(delim)+encoding)
}

// copySource is where psql \copy reads the catalogue's file from (the
// file, or gzip -dc of it) and the ENCODING option its declared encoding
// needs; an error when the bench has no COPY baseline for the file.
func copySource(c catalogue) (from, encoding string, err error) {
	if strings.EqualFold(c.input.Format, "xlsx") {
		return "", "", fmt.Errorf("%s: xlsx has no psql \\copy baseline: export the sheet as CSV", c.path)
	}
	label := c.input.Encoding
	if label == "" && !isCSV(c) {
		// An XML feed may declare its encoding instead: the harvest
		// decodes it, and so must COPY.
		if label, err = xmlDeclared(c.path); err != nil {
			return "", "", err
		}
		if strings.EqualFold(label, "utf-8") {
			label = ""
		}
	}
	if label != "" {
		pgName, ok := pgEncodings[strings.ToLower(label)]
		if !ok {
			return "", "", fmt.Errorf("%s: no psql \\copy baseline for encoding %q (the bench knows %s)", c.path, label,
				strings.Join(slices.Sorted(maps.Keys(pgEncodings)), ", "))
		}
		encoding = ", ENCODING " + literal(pgName)
	}
	from = literal(c.path)
	if strings.HasSuffix(c.path, ".gz") {
		from = "PROGRAM " + literal("gzip -dc -- '"+strings.ReplaceAll(c.path, "'", `'\''`)+"'")
	}
	return from, encoding, nil
}

// xmlDeclared returns the encoding the XML declaration at the start of
// the file at path names ("" for none), through gzip for a .gz file.
func xmlDeclared(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	head := make([]byte, 1024)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if m := xmlEncoding.FindSubmatch(head[:n]); m != nil {
		return string(m[1]), nil
	}
	return "", nil
}

// xmlEncoding finds the encoding in an XML declaration.
var xmlEncoding = regexp.MustCompile(`^\x{FEFF}?<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// pgEncodings maps the feed encodings a user most likely declares (WHATWG
// labels) to PostgreSQL's names, for the COPY baseline.
var pgEncodings = map[string]string{
	"utf-8": "UTF8", "utf8": "UTF8", "windows-1252": "WIN1252", "cp1252": "WIN1252",
	"windows-1250": "WIN1250", "windows-1251": "WIN1251", "iso-8859-2": "LATIN2",
	"iso-8859-15": "LATIN9", "koi8-r": "KOI8R", "shift_jis": "SJIS", "euc-jp": "EUC_JP",
	"gbk": "GBK", "big5": "BIG5",
}

// isCSV reports whether the catalogue is CSV: by its input's format, or
// without one, by the file's extension (before .gz).
func isCSV(c catalogue) bool {
	if c.input.Format != "" {
		return strings.EqualFold(c.input.Format, "csv")
	}
	return strings.EqualFold(filepath.Ext(strings.TrimSuffix(c.path, ".gz")), ".csv")
}

// literal quotes s as an SQL string literal.
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// catalogues lists what the bench harvests: each generated size, then the
// user's file (served by mux under /own/).
func catalogues(o Options, server, dir string, mux *http.ServeMux) ([]catalogue, error) {
	var out []catalogue
	for _, n := range o.Sizes {
		name := fmt.Sprintf("feed-%d.csv", n)
		gen := feedgen.Options{N: n, Seed: 1, BadShare: 0.01, Format: "csv"}
		c := catalogue{label: strconv.Itoa(n), gen: &gen, path: filepath.Join(dir, name), url: fmt.Sprintf("http://%s/%s", server, name),
			supplier: fmt.Sprintf("bench%d", n), gardener: slices.Contains(o.GardenerSizes, n)}
		c.input = wf.Input{TenantID: tenantOf(c.supplier), SupplierCode: c.supplier, Format: "csv", Force: true}
		// A tenth of the products get another name (and price), or another
		// price alone.
		for _, names := range []bool{true, false} {
			what, name := "prices", fmt.Sprintf("feed-%d-changed.csv", n)
			if names {
				what, name = "names and prices", fmt.Sprintf("feed-%d-changed-names.csv", n)
			}
			changed := gen
			changed.Mutate, changed.MutateName = 0.1, names
			c.changes = append(c.changes, change{what: what, url: fmt.Sprintf("http://%s/%s", server, name), path: filepath.Join(dir, name), gen: &changed})
		}
		out = append(out, c)
	}
	if o.Feed == "" {
		return out, nil
	}
	c := catalogue{label: filepath.Base(o.Feed), path: o.Feed, supplier: "own", gardener: o.FeedGardener}
	if o.FeedInput != "" {
		dec := json.NewDecoder(strings.NewReader(o.FeedInput))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c.input); err != nil {
			return nil, fmt.Errorf("-feed-input: %w", err)
		}
	}
	c.input.TenantID, c.input.SupplierCode, c.input.Force = tenantOf(c.supplier), c.supplier, true
	if c.input.Format == "" {
		// By the extension, as a user would name the format.
		ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(strings.TrimSuffix(o.Feed, ".gz")), "."))
		if !slices.Contains([]string{"csv", "json", "jsonl", "xml", "yml", "xlsx"}, ext) {
			return nil, fmt.Errorf("-feed %s: give its format in -feed-input (%q is not one)", o.Feed, ext)
		}
		c.input.Format = ext
	}
	if _, _, err := copySource(c); err != nil {
		return nil, err
	}
	if err := c.input.Validate(); err != nil {
		return nil, fmt.Errorf("-feed-input: %w", err)
	}
	if c.input.State != nil {
		return nil, errors.New("-feed-input: state is the workflow's own (continue-as-new), not an input to give")
	}
	if o.FeedChanged != "" && !o.FeedGardener {
		return nil, errors.New("-feed-changed is for the gardener's incremental runs: give -feed-gardener too")
	}
	for i, path := range []string{o.Feed, o.FeedChanged} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
		route := fmt.Sprintf("/own/%d/%s", i, url.PathEscape(filepath.Base(path)))
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) })
		if i == 0 {
			c.url = "http://" + server + route
		} else {
			c.changes = []change{{what: "content (" + filepath.Base(path) + ")", url: "http://" + server + route}}
		}
	}
	return append(out, c), nil
}

// ensure generates a generated catalogue's feed (and, for the gardener,
// its changed versions) unless they are there; a user's file is used as
// it is.
func ensure(c catalogue, say func(string, ...any)) error {
	if c.gen == nil {
		return nil // the user's own
	}
	if _, err := ensureFeed(c.path, *c.gen, say); err != nil {
		return err
	}
	for _, ch := range c.changes {
		if c.gardener && ch.gen != nil {
			if _, err := ensureFeed(ch.path, *ch.gen, say); err != nil {
				return err
			}
		}
	}
	return nil
}

// psql runs one command with psql (client-side \copy reads and writes
// files as the bench's user, which the server may not be).
func psql(ctx context.Context, dsn, command string) error {
	bin, err := exec.LookPath("psql")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
		if len(matches) == 0 {
			return fmt.Errorf("psql not found: install postgresql-client")
		}
		bin = matches[len(matches)-1]
	}
	out, err := exec.CommandContext(ctx, bin, dsn, "-v", "ON_ERROR_STOP=1", "-qc", command).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql: %v: %s", err, out)
	}
	return nil
}

// psqlCopy creates the table bench_copy with create, loads it with psql
// \copy from from (a quoted file name, or PROGRAM and a quoted command),
// drops it, and returns the time of the load alone.
func psqlCopy(ctx context.Context, dsn, create, from, options string) (time.Duration, error) {
	run := func(sql string) error { return psql(ctx, dsn, sql) }
	if err := run("DROP TABLE IF EXISTS bench_copy; " + create); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := run(fmt.Sprintf(`\copy bench_copy FROM %s WITH (%s)`, from, options)); err != nil {
		return 0, err
	}
	d := time.Since(start)
	return d, run("DROP TABLE bench_copy")
}

// ensureFeed writes the feed o describes to path unless it is there.
func ensureFeed(path string, o feedgen.Options, say func(string, ...any)) (os.FileInfo, error) {
	if st, err := os.Stat(path); err == nil {
		return st, nil
	}
	say("generating %d products into %s", o.N, path)
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := feedgen.Write(w, o); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return nil, err
	}
	return os.Stat(path)
}

// tenantOf is the tenant of a size's supplier: each size is a catalogue
// of its own, so that the gardener's tenant-wide set-based passes see that
// size's products only. feedgen's catalogues of different sizes share
// their first products, which in one tenant would make every product of
// the smaller one a duplicate of the larger's, and the 1M figure a
// measure of 1.1M products grouped across two suppliers.
//
// With Options.OneTenant (oneTenant) they are all in tenant "bench".
func tenantOf(supplier string) string {
	if oneTenant {
		return "bench"
	}
	return supplier
}

// oneTenant is Options.OneTenant of the running benchmark.
var oneTenant bool

func harvest(ctx context.Context, tc client.Client, in wf.Input) (time.Duration, wf.Report, error) {
	start := time.Now()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf.WorkflowID(in.TenantID, in.SupplierCode), TaskQueue: wf.TaskQueue}, wf.WorkflowName, in)
	if err != nil {
		return 0, wf.Report{}, err
	}
	var rep wf.Report
	if err := run.Get(ctx, &rep); err != nil {
		return 0, rep, fmt.Errorf("harvest %s: %w", in.SupplierCode, err)
	}
	return time.Since(start), rep, nil
}

// firstLoadRuns is how many first loads of each feed the bench times, and
// how many unchanged re-harvests, unless Options.Runs says otherwise: one
// run on a shared machine varies by a third, so each figure is a median.
const firstLoadRuns = 3

// harvestRuns is o's number of runs of each kind of harvest.
func harvestRuns(o Options) int {
	if o.Runs > 0 {
		return o.Runs
	}
	return firstLoadRuns
}

// loader times harvests on one server, each between two psql \copys of
// the same file on the same server.
type loader struct {
	tc    client.Client
	db    *pgxpool.Pool
	dsn   string
	meter cpuMeter
	say   func(string, ...any)
	runs  int // of first loads, and of unchanged re-harvests
	// warmup: one more run of each kind goes first, printed but not in
	// the figures. The first first load on a freshly started server took
	// 1.9-2.9x its COPY, the next ones 1.4-2.4x (2 Dec, 1M, tuned server):
	// that run paid about 130,000 more page faults (perf stat -e
	// page-faults), 216,000 against 86,000, at the cost of 2 s. Each
	// batch's COPY takes a fresh ring of shared buffers, and on a new
	// server those come from memory no process has touched yet, which this
	// VM backs only on first touch; psql's single COPY touches one ring.
	// The first re-harvest was slower too (0.88-0.94x against 0.69x),
	// likely for the same reason: it reads the partition into buffers. A
	// server in service has touched its
	// buffers long ago, and so has a worker that has run before: the timed
	// runs measure that server and that worker, and the warm-up's figures
	// are printed beside theirs.
	warmup bool
}

// runsOf is how many runs of one kind the loader makes: l.runs, plus the
// warm-up.
func (l loader) runsOf() int {
	if l.warmup {
		return l.runs + 1
	}
	return l.runs
}

// nth names run i (from 0) of the loader's runs: "warm-up (not counted)",
// or "2/3".
func (l loader) nth(i int) string {
	if l.warmup {
		i--
	}
	if i < 0 {
		return "warm-up (not counted)"
	}
	return fmt.Sprintf("%d/%d", i+1, l.runs)
}

// pair is one harvest and the psql \copy of the same file run just before
// it, and the one just after it (the next run's, or one more after the
// last run). The machine's speed drifts by a third within minutes (one 1M
// COPY took 3.9 s and another 6.1 s on the same afternoon): three COPYs
// then three harvests compared one moment's machine with another's, while
// the halves of a pair meet the same one. The COPYs on either side of a
// run meet it better than the one before alone, when the machine's speed
// changes during the run: in the twenty series of 1M first loads logged on
// 2 December, the spread of the runs' ratios within a series (standard
// deviation of their logarithms) was 0.074 against 0.091 to the COPY
// before, and the mean of the series' medians the same (1.449x, 1.450x).
type pair struct {
	copy, took time.Duration
	rep        wf.Report
	// after is the COPY after the run; 0 when there was none.
	after time.Duration
}

// base is the COPY time a run is compared with: the mean of the COPYs
// before and after it, or the one before when there is none after.
func (p pair) base() time.Duration {
	if p.after == 0 {
		return p.copy
	}
	return (p.copy + p.after) / 2
}

func (p pair) ratio() float64 { return p.took.Seconds() / p.base().Seconds() }

// figures are one size's harvest figures on one server.
type figures struct {
	Products int
	// Copy is the median of the COPYs before the first loads.
	Copy time.Duration
	// Harvest is the median first load; HarvestRatio the median of the
	// first loads' ratios to the mean of the COPYs before and after each.
	Harvest      time.Duration
	HarvestRatio float64
	// Rehearvest and RehearvestRatio: the same of the unchanged
	// re-harvests; RewriteRows the product rows they wrote.
	Rehearvest      time.Duration
	RehearvestRatio float64
	RewriteRows     int64
	// HarvestRatios and RehearvestRatios are every run's ratio, in the
	// order they ran: the goals show the spread beside the median.
	HarvestRatios, RehearvestRatios []float64
	// WarmupHarvest and WarmupRehearvest are the warm-up runs' ratios
	// (0: no warm-up), printed beside the runs, not in the medians.
	WarmupHarvest, WarmupRehearvest float64
}

func figuresOf(first, again pairs, firstWarmup, againWarmup *pair, written int64) figures {
	f := figures{Products: int(first.report().RowsRead), Copy: first.copy(), Harvest: first.took(), HarvestRatio: first.ratio(),
		Rehearvest: again.took(), RehearvestRatio: again.ratio(), RewriteRows: written,
		HarvestRatios: first.ratios(), RehearvestRatios: again.ratios()}
	if firstWarmup != nil {
		f.WarmupHarvest = firstWarmup.ratio()
	}
	if againWarmup != nil {
		f.WarmupRehearvest = againWarmup.ratio()
	}
	return f
}

// pairs are the runs of one kind (first loads, or unchanged re-harvests).
type pairs []pair

// copy is the median COPY time, took the median harvest time, and ratio
// the median of the pairs' ratios: the figure the goals are about.
func (ps pairs) copy() time.Duration {
	return medianBy(ps, func(p pair) float64 { return p.copy.Seconds() }).copy
}
func (ps pairs) took() time.Duration {
	return medianBy(ps, func(p pair) float64 { return p.took.Seconds() }).took
}
func (ps pairs) ratio() float64 { return medianBy(ps, pair.ratio).ratio() }

// ratios are the pairs' ratios, in run order.
func (ps pairs) ratios() []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p.ratio()
	}
	return out
}

// report is the report of the harvest of median time.
func (ps pairs) report() wf.Report {
	return medianBy(ps, func(p pair) float64 { return p.took.Seconds() }).rep
}

// medianBy is the element of median key (of an even number, the lower of
// the middle two); xs keeps its order.
func medianBy[T any](xs []T, key func(T) float64) T {
	sorted := slices.Clone(xs)
	slices.SortStableFunc(sorted, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return sorted[(len(sorted)-1)/2]
}

// quiesce lets earlier writes reach the disk before the next run is
// timed: CHECKPOINT writes the server's dirty buffers, and sync(2) the
// kernel's dirty pages. Without it a run paid for the writeback of the
// runs before it: a 1M COPY right after three first loads took 7.0-7.3 s,
// against 5.1-5.8 s before them, which flattered the re-harvest paired
// with it (it writes nothing).
func (l loader) quiesce(ctx context.Context) error { return quiesce(ctx, l.db) }

// quiesce is loader.quiesce for any pool. Before it flushes, it does the
// work autovacuum has pending, as autovacuum would
// (the tables over its thresholds, at the defaults): the launcher wakes
// every minute, and a pass it started inside a timed run, over tables an
// earlier phase wrote (the 100k catalogue's, the gardener's), cost that
// run alone up to two seconds of server CPU (the first tuned 1M load of
// two make bench runs in 22:21-22:28: 1.95x and 1.58x, with "2
// autovacuums" each, against 1.40-1.67x for the next ones).
func quiesce(ctx context.Context, db *pgxpool.Pool) error {
	if err := autovacuumNow(ctx, db); err != nil {
		return err
	}
	return flushWrites(ctx, db)
}

// flushWrites is CHECKPOINT and sync(2).
func flushWrites(ctx context.Context, db *pgxpool.Pool) error {
	if _, err := db.Exec(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	syscall.Sync()
	return nil
}

// autovacuumNow runs VACUUM (ANALYZE) on the tables that autovacuum, at its
// default thresholds, would vacuum or analyse next, but those whose
// autovacuum is off (a first load filling its table).
func autovacuumNow(ctx context.Context, db *pgxpool.Pool) error {
	rows, err := db.Query(ctx, `SELECT format('%I.%I', s.schemaname, s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE NOT coalesce('autovacuum_enabled=false' = ANY (c.reloptions), false)
			AND (s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
				OR s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0)
				OR s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0))
		ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("autovacuum's pending work: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("autovacuum's pending work: %w", err)
	}
	for _, t := range tables {
		if _, err := db.Exec(ctx, `VACUUM (ANALYZE) `+t); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}

// copyFirst is the first half of a pair: psql \copy of the catalogue's
// file, printed with its CPU time. Both halves start quiesced.
func (l loader) copyFirst(ctx context.Context, c catalogue, where string) (time.Duration, error) {
	if err := l.quiesce(ctx); err != nil {
		return 0, err
	}
	c0 := l.meter.sample()
	d, err := copyBaseline(ctx, l.dsn, c)
	if err != nil {
		return 0, err
	}
	cpu := l.meter.sample().sub(c0)
	l.say("%s%s: psql \\copy %s; cpu: server %s, psql %s", c.label, where, d.Round(time.Millisecond), secs(cpu.server), secs(cpu.psql))
	return d, l.quiesce(ctx)
}

// firstLoads harvests the catalogue's feed l.runs times, each a
// first load between two COPYs of the file: the supplier's partition is
// dropped before each run but the first, and the last run's stays. It
// prints each run (where says on which server) once the COPY after it is
// done.
func (l loader) firstLoads(ctx context.Context, c catalogue, where string) (runs pairs, warmup *pair, err error) {
	var b bracketed
	for i := range l.runsOf() {
		if i > 0 {
			var leaf string
			if err := l.db.QueryRow(ctx, `SELECT products_supplier_partition($1, $2)`, c.input.TenantID, c.supplier).Scan(&leaf); err != nil {
				return nil, nil, err
			}
			if _, err := l.db.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{leaf}.Sanitize()); err != nil {
				return nil, nil, err
			}
		}
		cp, err := l.copyFirst(ctx, c, where)
		if err != nil {
			return nil, nil, err
		}
		b.copied(l, cp)
		c0, b0 := l.meter.sample(), background(ctx, l.db)
		took, rep, err := harvest(ctx, l.tc, c.harvestOf(c.url))
		if err != nil {
			return nil, nil, err
		}
		if rep.Inserted != rep.Valid-rep.Duplicates {
			return nil, nil, fmt.Errorf("%s: first load %s inserted %d of %d valid rows", c.label, l.nth(i), rep.Inserted, rep.Valid-rep.Duplicates)
		}
		b.ran(i, pair{copy: cp, took: took, rep: rep},
			fmt.Sprintf("%s%s: harvest %s %s, ", c.label, where, l.nth(i), took.Round(time.Millisecond)),
			fmt.Sprintf(" (%s)%s%s%s", rep.Status, phases(ctx, l.db, rep.RunID), cpuOf(l.meter, c0), backgroundOf(ctx, l.db, b0)))
	}
	if err := b.close(ctx, l, c, where); err != nil {
		return nil, nil, err
	}
	return b.runs, b.warmup, nil
}

// bracketed collects a loader's runs of one kind as their COPYs after
// come in, and prints each then.
type bracketed struct {
	runs    pairs
	warmup  *pair
	pending *pair
	i       int
	// head and tail are the pending run's line, either side of its ratio.
	head, tail string
}

// ran holds run i, with its line, until the COPY after it.
func (b *bracketed) ran(i int, p pair, head, tail string) {
	b.pending, b.i, b.head, b.tail = &p, i, head, tail
}

// copied gives the pending run, if any, the COPY after it, prints it and
// adds it to the runs (or makes it the warm-up).
func (b *bracketed) copied(l loader, cp time.Duration) {
	p := b.pending
	if p == nil {
		return
	}
	b.pending = nil
	p.after = cp
	l.say("%s%.2fx the mean of the copies before and after it (%s, %s)%s", b.head, p.ratio(),
		p.copy.Round(time.Millisecond), p.after.Round(time.Millisecond), b.tail)
	if l.warmup && b.i == 0 {
		b.warmup = p
		return
	}
	b.runs = append(b.runs, *p)
}

// close makes the COPY after the last run.
func (b *bracketed) close(ctx context.Context, l loader, c catalogue, where string) error {
	if b.pending == nil {
		return nil
	}
	cp, err := l.copyFirst(ctx, c, where)
	if err != nil {
		return err
	}
	b.copied(l, cp)
	return nil
}

// settle does to the supplier's freshly loaded partition what autovacuum
// does next, and prints how long it took: VACUUM (ANALYZE) reads every
// page, marks it all-visible and gathers statistics. The re-harvests then
// meet the catalogue a daily re-harvest meets, not an autovacuum pass that
// starts beside them at a moment of the launcher's choosing (one took a
// core from two of three 1M re-harvests: 0.74x their COPY, against 0.58x
// with none).
func (l loader) settle(ctx context.Context, c catalogue, where string) error {
	var leaf string
	if err := l.db.QueryRow(ctx, `SELECT products_supplier_partition($1, $2)`, c.input.TenantID, c.supplier).Scan(&leaf); err != nil {
		return err
	}
	// Not quiesce: it would vacuum the partition itself, untimed.
	if err := flushWrites(ctx, l.db); err != nil {
		return err
	}
	c0, start := l.meter.sample(), time.Now()
	if _, err := l.db.Exec(ctx, `VACUUM (ANALYZE) `+pgx.Identifier{leaf}.Sanitize()); err != nil {
		return fmt.Errorf("vacuum %s: %w", leaf, err)
	}
	l.say("%s%s: VACUUM (ANALYZE) of the loaded partition, autovacuum's next work (the bench does it now) %s%s", c.label, where,
		time.Since(start).Round(time.Millisecond), cpuOf(l.meter, c0))
	return nil
}

// unchanged harvests the catalogue's feed again l.runs times,
// nothing having changed, each between two COPYs of the file, prints each
// run and returns the runs and the product rows they wrote (the goal is
// none).
func (l loader) unchanged(ctx context.Context, c catalogue, where string) (runs pairs, warmup *pair, written int64, err error) {
	var b bracketed
	for i := range l.runsOf() {
		cp, err := l.copyFirst(ctx, c, where)
		if err != nil {
			return nil, nil, 0, err
		}
		b.copied(l, cp)
		c0, b0 := l.meter.sample(), background(ctx, l.db)
		took, rep, err := harvest(ctx, l.tc, c.harvestOf(c.url))
		if err != nil {
			return nil, nil, 0, err
		}
		rows := rep.Inserted + rep.Updated + rep.Deactivated
		written += rows
		b.ran(i, pair{copy: cp, took: took, rep: rep},
			fmt.Sprintf("%s%s: unchanged re-harvest %s %s, ", c.label, where, l.nth(i), took.Round(time.Millisecond)),
			fmt.Sprintf(", %d rows written%s%s%s", rows, phases(ctx, l.db, rep.RunID), cpuOf(l.meter, c0), backgroundOf(ctx, l.db, b0)))
	}
	if err := b.close(ctx, l, c, where); err != nil {
		return nil, nil, 0, err
	}
	return b.runs, b.warmup, written, nil
}

// history returns the longest history of the workflow's latest chain of
// runs and the number of runs (continue-as-new) in that chain.
func history(ctx context.Context, tc client.Client, id string) (int64, int, error) {
	d, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return 0, 0, err
	}
	return d.GetWorkflowExecutionInfo().GetHistoryLength(), 1, nil
}

// peakRSS reads the process's high-water resident set (VmHWM) in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// warmupNote says, when rs's runs had a warm-up, that it is not in the
// medians.
func warmupNote(rs []Result) string {
	if len(rs) == 0 || rs[0].WarmupHarvest == 0 {
		return ""
	}
	return ";\nthe warm-up runs before them (a first load and a re-harvest each, printed above) are not in the figures"
}

// runsIn is how many runs of each kind rs's figures are the medians of.
func runsIn(rs []Result) int {
	if len(rs) == 0 {
		return firstLoadRuns
	}
	return len(rs[0].HarvestRatios)
}

func print(w io.Writer, rs []Result) {
	fmt.Fprintln(w, "\n=== harvest benchmark (this machine, one run) ===")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "feed\tfeed MiB\tpsql \\copy\tharvest\tvs copy\tproducts/s\tre-harvest\tvs copy\trows written\thistory events\tworker peak RSS MiB\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.2fx\t%.0f\t%s\t%.2fx\t%d\t%d\t%.0f\t\n",
			r.Label, float64(r.FeedBytes)/(1<<20), r.Copy.Round(time.Millisecond), r.Harvest.Round(time.Millisecond),
			r.HarvestRatio, float64(r.Products)/r.Harvest.Seconds(),
			r.Rehearvest.Round(time.Millisecond), r.RehearvestRatio, r.RewriteRows,
			r.HistoryLength, float64(r.WorkerPeakRSS)/(1<<20))
	}
	tw.Flush()
	fmt.Fprintf(w, "harvest and re-harvest: the median of %d runs each, each run between two psql \\copys of the same file; vs copy: the median of\n"+
		"those %d runs' ratios to the mean of their two COPYs; psql \\copy: the median of the COPYs before the first loads;\n"+
		"rows written: by all re-harvests%s\n", runsIn(rs), runsIn(rs), warmupNote(rs))
	fmt.Fprintln(w, "first goals: harvest ≤ 2x copy, unchanged re-harvest ≤ 1.5x copy with 0 rows written, worker RSS < 200 MiB, history < 10k events"+
		" (issue 15's tighter ones are checked at the end)")
	printGardener(w, rs)
}
