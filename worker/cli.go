package worker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"contextworker/internal/codec"
	"contextworker/internal/config"
	"contextworker/internal/logging"
	"contextworker/internal/pg"
	"contextworker/registry"
)

// Flags of the worker binary. Each has an environment variable; flags win.
var (
	configFlag = &cli.StringFlag{
		Name: "config", Value: config.DefaultPath, EnvVars: []string{"CW_CONFIG"},
		Usage: "path of temporal.yaml",
	}
	modulesFlag = &cli.StringSliceFlag{
		Name: "modules", Aliases: []string{"m"}, EnvVars: []string{"CW_MODULES"},
		Usage: "modules to run, comma- or space-separated (default: all)",
	}
	logFormatFlag = &cli.StringFlag{
		Name: "log-format", EnvVars: []string{config.EnvLogFormat},
		Usage: "json or text (default from config: json)",
	}
	logLevelFlag = &cli.StringFlag{
		Name: "log-level", EnvVars: []string{config.EnvLogLevel},
		Usage: "debug, info, warn or error",
	}
	addressFlag = &cli.StringFlag{
		Name:  "temporal-address",
		Usage: "Temporal frontend host:port (beats TEMPORAL_ADDRESS and the config)",
	}
	namespaceFlag = &cli.StringFlag{
		Name:  "namespace",
		Usage: "Temporal namespace (beats TEMPORAL_NAMESPACE and the config)",
	}
	metricsAddrFlag = &cli.StringFlag{
		Name: "metrics-addr", EnvVars: []string{config.EnvMetricsAddr},
		Usage: "serve Prometheus /metrics on host:port (worker.metrics_addr; empty: off)",
	}
	shutdownFlag = &cli.DurationFlag{
		Name: "shutdown-timeout", EnvVars: []string{config.EnvShutdownTimeout},
		Usage: "how long running activities may finish after SIGTERM",
	}
)

// globalFlags are accepted before and after a subcommand alike:
// `worker --config x.yaml schedules sync` and `worker schedules sync
// --config x.yaml` mean the same (see flagContext).
func globalFlags() []cli.Flag {
	return []cli.Flag{configFlag, modulesFlag, logFormatFlag, logLevelFlag, addressFlag, namespaceFlag, shutdownFlag}
}

// flagContext returns the context whose command line set the flag called
// name, innermost first, or c when none did (then c gives the flag's
// environment variable or default).
func flagContext(c *cli.Context, name string) *cli.Context {
	for _, cc := range c.Lineage() {
		if cc != nil && slices.Contains(cc.LocalFlagNames(), name) {
			return cc
		}
	}
	return c
}

// App returns the worker command line over the modules in reg.
func App(reg *registry.Registry, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "worker",
		Usage:     "run contextworker Temporal workers",
		UsageText: "worker [--modules harvest,gardener | --modules harvest gardener] [--config temporal.yaml]",
		Writer:    stdout, ErrWriter: stderr,
		HideHelpCommand: true,
		Flags:           append(globalFlags(), metricsAddrFlag),
		Action: func(c *cli.Context) error {
			// `--modules harvest gardener`: names after the flag arrive as
			// arguments. Anything else is a stray argument.
			if c.NArg() > 0 && !c.IsSet(modulesFlag.Name) {
				return fmt.Errorf("unexpected argument %q (see worker --help)", c.Args().First())
			}
			return runWorker(c, reg)
		},
		Commands: []*cli.Command{
			{
				Name:  "modules",
				Usage: "list modules with their task queues, workflow and activity types",
				Action: func(c *cli.Context) error {
					return printModules(c.App.Writer, reg.Modules())
				},
			},
			{
				Name:  "migrate",
				Usage: "apply the embedded SQL migrations (idempotent)",
				Flags: globalFlags(),
				Action: func(c *cli.Context) error {
					env, err := load(c, reg)
					if err != nil {
						return err
					}
					ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
					defer stop()
					db, err := OpenPostgres(ctx, env.cfg, nil, env.logger)
					if err != nil {
						return err
					}
					defer db.Close()
					done, err := pg.Migrate(ctx, db, env.logger)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "migrations applied: %d\n", len(done))
					return nil
				},
			},
			{
				Name:  "schedules",
				Usage: "manage Temporal Schedules declared in the config",
				Subcommands: []*cli.Command{{
					Name:  "sync",
					Usage: "create, update or delete schedules to match the config",
					Flags: globalFlags(),
					Action: func(c *cli.Context) error {
						return syncSchedules(c, reg)
					},
				}},
			},
		},
	}
}

// Main runs the worker binary and returns the process exit code.
func Main(reg *registry.Registry, args []string) int {
	app := App(reg, os.Stdout, os.Stderr)
	if err := app.Run(JoinModuleArgs(args, app)); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return 0
}

type loaded struct {
	cfg       *config.Config
	logger    *slog.Logger
	overrides config.Overrides
}

// load reads the config (flags > env > file > defaults) and builds the logger.
func load(c *cli.Context, reg *registry.Registry) (*loaded, error) {
	cc := flagContext(c, configFlag.Name)
	cfg, err := config.Load(cc.String(configFlag.Name), !cc.IsSet(configFlag.Name), reg, nil)
	if err != nil {
		return nil, err
	}
	if v := flagContext(c, logFormatFlag.Name).String(logFormatFlag.Name); v != "" {
		cfg.Log.Format = v
	}
	if v := flagContext(c, logLevelFlag.Name).String(logLevelFlag.Name); v != "" {
		cfg.Log.Level = v
	}
	if cc := flagContext(c, shutdownFlag.Name); cc.IsSet(shutdownFlag.Name) {
		cfg.Worker.ShutdownTimeout = cc.Duration(shutdownFlag.Name)
	}
	if c.IsSet(metricsAddrFlag.Name) {
		cfg.Worker.MetricsAddr = c.String(metricsAddrFlag.Name)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger, err := logging.New(c.App.ErrWriter, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return nil, err
	}
	return &loaded{cfg: cfg, logger: logger, overrides: config.Overrides{
		Address:   flagContext(c, addressFlag.Name).String(addressFlag.Name),
		Namespace: flagContext(c, namespaceFlag.Name).String(namespaceFlag.Name),
	}}, nil
}

// JoinModuleArgs rewrites `--modules harvest gardener --config x` into
// `--modules harvest,gardener --config x`. The flag parser stops at the
// first bare word, so without this any flag after space-separated module
// names would be taken for a module. A subcommand name ends the list.
func JoinModuleArgs(args []string, app *cli.App) []string {
	isCommand := func(s string) bool {
		for _, c := range app.Commands {
			if c.HasName(s) {
				return true
			}
		}
		return s == "help"
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		out = append(out, args[i])
		if a := args[i]; a != "--modules" && a != "-modules" && a != "-m" {
			continue
		}
		var names []string
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && (len(names) == 0 || !isCommand(args[i+1])) {
			i++
			names = append(names, args[i])
		}
		if len(names) > 0 {
			out = append(out, strings.Join(names, ","))
		}
	}
	return out
}

// ParseModuleNames splits comma- and space-separated module names.
func ParseModuleNames(values ...string) []string {
	var names []string
	for _, v := range values {
		names = append(names, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return names
}

func selectModules(c *cli.Context, reg *registry.Registry) ([]registry.Module, error) {
	names := ParseModuleNames(append(flagContext(c, modulesFlag.Name).StringSlice(modulesFlag.Name), c.Args().Slice()...)...)
	return reg.Select(names...)
}

func runWorker(c *cli.Context, reg *registry.Registry) error {
	mods, err := selectModules(c, reg)
	if err != nil {
		return err
	}
	env, err := load(c, reg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var names []string
	for _, m := range mods {
		names = append(names, m.Name())
	}
	env.logger.Info("starting worker", "modules", names, "task_queues", registry.TaskQueues(mods), "config", env.cfg.File())
	return Run(ctx, Options{
		Config: env.cfg, Overrides: env.overrides, Modules: mods, Logger: env.logger,
		Ready: func() { env.logger.Info("worker ready") },
	})
}

func syncSchedules(c *cli.Context, reg *registry.Registry) error {
	mods, err := selectModules(c, reg)
	if err != nil {
		return err
	}
	env, err := load(c, reg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Schedule actions hold workflow inputs: encrypt them like the worker.
	cdc, err := codec.FromConfig(env.cfg.Temporal.Encryption, nil)
	if err != nil {
		return fmt.Errorf("schedules sync: %w", err)
	}
	tc, ns, err := DialTemporal(ctx, env.cfg.Temporal, env.overrides, nil, env.logger, func(o *client.Options) { codec.Apply(o, cdc) })
	if err != nil {
		return err
	}
	defer tc.Close()
	res, err := Provision(ctx, Options{Config: env.cfg, Modules: mods, Logger: env.logger}, tc, ns)
	if err != nil {
		return err
	}
	defer res.Close()
	synced := 0
	for _, m := range mods {
		s, ok := m.(registry.Syncer)
		if !ok {
			continue
		}
		if err := s.Sync(ctx, res.Deps(m)); err != nil {
			return fmt.Errorf("schedules sync %q: %w", m.Name(), err)
		}
		synced++
	}
	if synced == 0 {
		return errors.New("schedules sync: none of the selected modules has schedules")
	}
	fmt.Fprintf(c.App.Writer, "schedules synced for %d module(s)\n", synced)
	return nil
}

func printModules(w io.Writer, mods []registry.Module) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tTASK QUEUE\tWORKFLOW TYPES\tACTIVITY TYPES")
	for _, m := range mods {
		var wfs []string
		for _, wf := range m.Workflows() {
			wfs = append(wfs, wf.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name(), m.TaskQueue(), strings.Join(wfs, ","), strings.Join(m.Activities(), ","))
	}
	return tw.Flush()
}
