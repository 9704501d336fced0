package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"contextworker/internal/codec"
	"contextworker/internal/config"
	"contextworker/internal/logging"
	"contextworker/internal/pg"
	"contextworker/registry"
	"contextworker/starter/grpcfront"
)

// Flag names of the starter binary.
const (
	flagConfig          = "config"
	flagListen          = "listen"
	flagGRPCListen      = "grpc-listen"
	flagLogFormat       = "log-format"
	flagLogLevel        = "log-level"
	flagTemporalAddress = "temporal-address"
	// flagAddress is the deprecated name of flagTemporalAddress.
	flagAddress   = "address"
	flagNamespace = "namespace"
	flagTenant    = "tenant"
	flagRoles     = "roles"
	flagTTL       = "ttl"
	flagSubject   = "subject"
)

// globalFlags are built per App: urfave/cli flags keep state, so sharing
// them between apps (as tests do) would leak values.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagConfig, Usage: "path of temporal.yaml (a missing default file means built-in defaults)", Value: config.DefaultPath, EnvVars: []string{"CW_CONFIG"}, Category: "Config"},
		&cli.StringFlag{Name: flagListen, Usage: "HTTP listen address, overrides starter.listen", Category: "Config"},
		&cli.StringFlag{Name: flagGRPCListen, Usage: "gRPC WorkerService listen address (beside the HTTP API; \"\" for none), overrides starter.grpc_listen", Category: "Config"},
		&cli.StringFlag{Name: flagLogFormat, Usage: "log format: json or text, overrides log.format", Category: "Logging"},
		&cli.StringFlag{Name: flagLogLevel, Usage: "log level: debug, info, warn or error, overrides log.level", Category: "Logging"},
		&cli.StringFlag{Name: flagTemporalAddress, Usage: "Temporal frontend host:port, overrides temporal.address and $TEMPORAL_ADDRESS (as the worker's flag)", Category: "Temporal"},
		&cli.StringFlag{Name: flagAddress, Usage: "deprecated: use --" + flagTemporalAddress, Category: "Temporal", Hidden: true},
		&cli.StringFlag{Name: flagNamespace, Usage: "Temporal namespace, overrides temporal.namespace and $TEMPORAL_NAMESPACE", Category: "Temporal"},
	}
}

// App is the starter command line: `starter [global flags] [serve|token]`.
// Without a command it serves. reg supplies the workflow types.
func App(reg *registry.Registry) *cli.App {
	serve := func(c *cli.Context) error { return runServe(c, reg) }
	return &cli.App{
		Name:   "starter",
		Usage:  "HTTP service that starts, inspects, cancels and signals workflows for tenants",
		Flags:  globalFlags(),
		Before: rejectStrayArgs,
		Action: serve,
		Commands: []*cli.Command{
			{
				Name:   "serve",
				Usage:  "serve the HTTP API (the default)",
				Before: noArgs,
				Action: serve,
			},
			{
				Name:  "token",
				Usage: "print a dev token signed with the configured HS256 secret, for curl",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: flagTenant, Usage: "tenant_id claim", Required: true},
					&cli.StringSliceFlag{Name: flagRoles, Usage: "roles claim: viewer, operator, admin (repeat or comma-separate)", Value: cli.NewStringSlice(RoleViewer)},
					&cli.DurationFlag{Name: flagTTL, Usage: "lifetime of the token", Value: time.Hour},
					&cli.StringFlag{Name: flagSubject, Usage: "sub claim", Value: "dev"},
				},
				Before: noArgs,
				Action: func(c *cli.Context) error { return runToken(c, reg) },
			},
		},
	}
}

// rejectStrayArgs refuses arguments that are not a command: a typo must not
// silently start the server.
func rejectStrayArgs(c *cli.Context) error {
	if first := c.Args().First(); first != "" && c.App.Command(first) == nil {
		return fmt.Errorf("unexpected argument %q (commands: serve, token; flags go before the command)", first)
	}
	return nil
}

func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return fmt.Errorf("%s: unexpected argument %q", c.Command.Name, c.Args().First())
	}
	return nil
}

// loadConfig reads temporal.yaml (file, then environment), applies the
// flags and validates the result.
func loadConfig(c *cli.Context, reg *registry.Registry) (*config.Config, error) {
	path := c.String(flagConfig)
	cfg, err := config.Load(path, !c.IsSet(flagConfig), reg, nil)
	if err != nil {
		return nil, err
	}
	if c.IsSet(flagListen) {
		cfg.Starter.Listen = c.String(flagListen)
	}
	if c.IsSet(flagGRPCListen) {
		cfg.Starter.GRPCListen = c.String(flagGRPCListen)
	}
	if c.IsSet(flagLogFormat) {
		cfg.Log.Format = c.String(flagLogFormat)
	}
	if c.IsSet(flagLogLevel) {
		cfg.Log.Level = c.String(flagLogLevel)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func runServe(c *cli.Context, reg *registry.Registry) error {
	cfg, err := loadConfig(c, reg)
	if err != nil {
		return err
	}
	logger, err := logging.New(c.App.ErrWriter, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return err
	}
	keys, err := LoadKeySet(cfg.Starter.JWT, nil)
	if err != nil {
		return err
	}
	address, err := temporalAddress(c, logger)
	if err != nil {
		return err
	}
	opts, err := cfg.Temporal.ClientOptions(config.Overrides{Address: address, Namespace: c.String(flagNamespace)}, nil)
	if err != nil {
		return err
	}
	var pageKey []byte
	if !cfg.Starter.PageTokenSecret.IsZero() {
		key, err := cfg.Starter.PageTokenSecret.Resolve(nil)
		if err != nil {
			return fmt.Errorf("starter.page_token_secret: %w", err)
		}
		pageKey = []byte(key)
	}
	opts.Logger = logging.Temporal(logger)
	cdc, err := codec.FromConfig(cfg.Temporal.Encryption, nil)
	if err != nil {
		return err
	}
	codec.Apply(&opts, cdc) // a nil codec (encryption off) changes nothing
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	tc, err := dial(ctx, opts, cfg.Temporal.ConnectTimeout, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	serverTLS, err := ServerTLS(cfg.Starter.TLS, nil)
	if err != nil {
		return err
	}
	sopts := Options{
		TLS:           serverTLS,
		Temporal:      tc,
		Registry:      reg,
		Config:        cfg.Starter,
		Namespace:     opts.Namespace,
		UIBaseURL:     cfg.Temporal.UIURL,
		Logger:        logger,
		Keys:          keys,
		ModuleConfig:  cfg.Module,
		PageTokenKey:  pageKey,
		DataConverter: opts.DataConverter,
		CodecServer:   cfg.Temporal.Encryption.CodecServer,
		Database: func(ctx context.Context) (*pgxpool.Pool, error) {
			dsn, err := cfg.Postgres.DSN.Resolve(nil)
			if err != nil {
				return nil, fmt.Errorf("postgres: dsn: %w", err)
			}
			return pg.Connect(ctx, dsn, cfg.Postgres.MaxConns, cfg.Postgres.ConnectTimeout, logger)
		},
	}
	if cdc != nil {
		sopts.Codec = cdc
	}
	srv, err := New(sopts)
	if err != nil {
		return err
	}
	defer srv.db.close()
	return srv.serveAll(ctx)
}

// serveAll serves the HTTP API and, when starter.grpc_listen is set, the
// gRPC front over the same handler (see serveBoth).
func (s *Server) serveAll(ctx context.Context) error {
	if s.cfg.GRPCListen == "" {
		return s.Run(ctx)
	}
	gln, err := s.listen(s.cfg.GRPCListen)
	if err != nil {
		return fmt.Errorf("grpc listen: %w", err)
	}
	hln, err := s.listen(s.cfg.Listen)
	if err != nil {
		gln.Close()
		return fmt.Errorf("listen: %w", err)
	}
	return s.serveBoth(ctx, hln, gln)
}

// serveBoth serves the HTTP API on hln and the gRPC front on gln until ctx
// is done or either fails; then both stop gracefully. It closes both.
func (s *Server) serveBoth(ctx context.Context, hln, gln net.Listener) error {
	// An RPC may make the same Temporal calls as the slowest route: the
	// HTTP server's write timeout.
	svc, err := grpcfront.New(grpcfront.Options{Handler: s.handler, Timeout: 3*s.cfg.TemporalTimeout + 10*time.Second})
	if err != nil {
		hln.Close()
		gln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() {
		errs <- s.Serve(ctx, hln)
		cancel() // one front down takes the other with it
	}()
	go func() {
		errs <- grpcfront.Serve(ctx, grpcfront.NewServer(svc, s.cfg.MaxBodyBytes), gln, s.log)
		cancel()
	}()
	return errors.Join(<-errs, <-errs)
}

// temporalAddress is the --temporal-address flag, or the deprecated
// --address with a warning.
func temporalAddress(c *cli.Context, log *slog.Logger) (string, error) {
	if !c.IsSet(flagAddress) {
		return c.String(flagTemporalAddress), nil
	}
	if c.IsSet(flagTemporalAddress) && c.String(flagTemporalAddress) != c.String(flagAddress) {
		return "", fmt.Errorf("--%s and the deprecated --%s disagree; give only --%s", flagTemporalAddress, flagAddress, flagTemporalAddress)
	}
	log.Warn("--" + flagAddress + " is deprecated: use --" + flagTemporalAddress)
	return c.String(flagAddress), nil
}

// dial connects to Temporal, retrying for up to timeout: the starter may
// come up before Temporal does.
func dial(ctx context.Context, opts client.Options, timeout time.Duration, log *slog.Logger) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := 500 * time.Millisecond
	for {
		tc, err := client.DialContext(ctx, opts)
		if err == nil {
			return tc, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s: gave up after %s (temporal.connect_timeout): %w", opts.HostPort, timeout, err)
		}
		log.Warn("Temporal is not reachable yet, retrying", "address", opts.HostPort, "in", wait, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func runToken(c *cli.Context, reg *registry.Registry) error {
	cfg, err := loadConfig(c, reg)
	if err != nil {
		return err
	}
	jc := cfg.Starter.JWT
	if ttl := c.Duration(flagTTL); ttl > jc.MaxLifetime {
		return fmt.Errorf("token: --ttl %s is over starter.jwt.max_lifetime (%s): the starter would refuse the token", ttl, jc.MaxLifetime)
	}
	if jc.HS256Secret.IsZero() {
		return errors.New("token: starter.jwt.hs256_secret is not set; dev tokens are signed with it (e.g. hs256_secret: env:CW_JWT_SECRET)")
	}
	secret, err := jc.HS256Secret.Resolve(nil)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	tok, err := MintHS256([]byte(secret), TokenRequest{
		Subject:  c.String(flagSubject),
		Tenant:   c.String(flagTenant),
		Roles:    c.StringSlice(flagRoles),
		TTL:      c.Duration(flagTTL),
		Issuer:   jc.Issuer,
		Audience: jc.Audience,
	}, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.App.Writer, tok)
	return err
}
