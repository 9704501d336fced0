package harvest

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron"
	"golang.org/x/text/encoding/htmlindex"
	"gopkg.in/yaml.v3"

	"contextworker/internal/secret"
	"contextworker/modules/harvest/feed"
	"contextworker/modules/harvest/product"
	wf "contextworker/workflows/harvest"
)

// Config is the harvest module's section of temporal.yaml (modules.harvest).
type Config struct {
	Suppliers []Supplier `yaml:"suppliers"`
	// Tuning holds the settings a run's plan carries as they are (merge
	// partitions, deactivation guard, timeouts, history length): declared
	// once, in the workflow package, for the config and the plan alike.
	wf.Tuning `yaml:",inline"`
	// BatchSize is the number of rows staged per transaction: the
	// checkpoint granularity of the Stage activity.
	BatchSize int `yaml:"batch_size"`
	// StageStreams is how many batches the Stage activity writes at once,
	// each on its own connection (PostgreSQL backend).
	StageStreams int `yaml:"stage_streams"`
	// KeyBuildWorkers is how many parallel workers PostgreSQL may give a
	// first load's key build (max_parallel_maintenance_workers, for that
	// transaction alone), beside the session's own process; the server's
	// max_worker_processes and max_parallel_workers still cap it, and 0
	// builds it in the session alone. The default, 1, makes two processes
	// for a server with two cores: PostgreSQL's own default, 2, made three,
	// and the seal of a 1M first load took 1.33-1.65 s (median 1.42 s)
	// against 1.19-1.73 s (median 1.23 s) with 1 (four benches alternating,
	// tuned server, 2 cores). Only 2 cores were measured: on a server
	// with more, try more.
	KeyBuildWorkers int `yaml:"key_build_workers"`
	// MaxFeedBytes caps a feed's size as downloaded; MaxUnpackedBytes caps
	// it after gzip (against decompression bombs).
	MaxFeedBytes     int64 `yaml:"max_feed_bytes"`
	MaxUnpackedBytes int64 `yaml:"max_unpacked_bytes"`
	// MaxDeactivateShareUndeclared is the stricter share for a run whose
	// feed declared no length and whose format has no end marker (CSV,
	// JSON Lines): cut at a record boundary, such a feed looks complete.
	MaxDeactivateShareUndeclared float64       `yaml:"max_deactivate_share_undeclared"`
	HTTPTimeout                  time.Duration `yaml:"http_timeout"`
	// FetchAttempts and FetchBudget bound the retries of a feed that keeps
	// failing (server errors, broken-off or dripping downloads): after
	// that many Stage attempts, or that long since the first, the run
	// fails as FeedUnavailable, FeedTruncated or FeedTooSlow.
	FetchAttempts int           `yaml:"fetch_attempts"`
	FetchBudget   time.Duration `yaml:"fetch_budget"`
	// MinFeedRate (bytes a second) ends a download that, over an
	// http_timeout window spent waiting for it, brings less than this.
	MinFeedRate int64 `yaml:"min_feed_rate"`
	// MaxFieldBytes, MaxRecordBytes and MaxDepth bound one feed record
	// (a longer field or record, or deeper nesting, rejects the record
	// with its reason, and the run goes on); they keep a worker's memory
	// bounded whatever a feed holds.
	MaxFieldBytes  int `yaml:"max_field_bytes"`
	MaxRecordBytes int `yaml:"max_record_bytes"`
	MaxDepth       int `yaml:"max_depth"`
	// ProgressInterval is when Stage first signals its live counts to its
	// workflow (for the progress query); the interval then doubles up to
	// 5 minutes. 0 turns the signals off (the counts stay in the Stage
	// activity's heartbeat details).
	ProgressInterval time.Duration `yaml:"progress_interval"`
	Network          Network       `yaml:"network"`
}

// Network is the SSRF policy for feed URLs. By default only public
// addresses are reachable.
type Network struct {
	AllowLoopback bool `yaml:"allow_loopback"`
	AllowPrivate  bool `yaml:"allow_private"`
	// AllowFiles permits file:// feeds, only below FileRoot (required
	// with it), opened through os.Root: no path, symlink or ".." leads out.
	AllowFiles bool   `yaml:"allow_files"`
	FileRoot   string `yaml:"file_root"`
}

// Supplier is one configured supplier feed.
type Supplier struct {
	Code            string            `yaml:"code"`
	Tenant          string            `yaml:"tenant"`
	Feed            Feed              `yaml:"feed"`
	Mapping         map[string]string `yaml:"mapping"`
	DefaultCurrency string            `yaml:"default_currency"`
	// Schedule is an optional cron expression; the supplier then gets a
	// Temporal Schedule (overlap policy skip).
	Schedule string `yaml:"schedule"`
}

// Feed says where and how to read a supplier's feed.
type Feed struct {
	URL    string `yaml:"url"`
	Format string `yaml:"format"`
	// Delimiter for CSV; default ",".
	Delimiter string `yaml:"delimiter"`
	// RecordElement names the record element of an XML feed.
	RecordElement string `yaml:"record_element"`
	// RecordPath says where the records are: for JSON the property
	// holding the array ("data.items"), for XML the dotted element path
	// from the root to the record ("catalog.products.product").
	RecordPath string `yaml:"record_path"`
	Sheet      string `yaml:"sheet"`
	// Encoding is the feed's character encoding (a WHATWG label such as
	// windows-1252); empty means UTF-8, and bytes that are not UTF-8 are
	// then rejected row by row, never replaced.
	Encoding string `yaml:"encoding"`
	// Gzip says the feed is gzip-compressed: a body that is not fails the
	// run (FeedBroken). Without it gzip is still detected from the bytes,
	// so a gzip feed served without a gzip Content-Type works either way.
	Gzip bool `yaml:"gzip"`
	// Headers are sent with every request; a header that carries a
	// credential (Authorization, Cookie, or a name with key, token, secret
	// or auth in it) must be a secret reference.
	Headers map[string]HeaderValue `yaml:"headers"`
	// BasicAuth and BearerToken authenticate the request (one of them);
	// their secrets are references, resolved by the worker when it fetches,
	// so they never reach the plan or Temporal's history. They are sent
	// only to the configured URL, never to an input's feed_url.
	BasicAuth   *BasicAuth `yaml:"basic_auth"`
	BearerToken secret.Ref `yaml:"bearer_token"`
}

// BasicAuth is HTTP basic authentication for a feed.
type BasicAuth struct {
	Username string     `yaml:"username"`
	Password secret.Ref `yaml:"password"`
}

// credentialHeader reports whether a header name suggests a credential.
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "authorization" || n == "proxy-authorization" || n == "cookie" {
		return true
	}
	for _, w := range []string{"key", "token", "secret", "auth", "password"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// HeaderValue is an HTTP header value: a plain string, or a secret
// reference ({env: NAME}, {file: path}, {credential: name}) for tokens.
type HeaderValue struct {
	Value  string
	Secret secret.Ref
}

// UnmarshalYAML accepts a string or a secret reference mapping.
func (h *HeaderValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		h.Value = n.Value
		return nil
	}
	return n.Decode(&h.Secret)
}

// Resolve returns the header value.
func (h HeaderValue) Resolve(env secret.Lookup) (string, error) {
	if h.Secret.IsZero() {
		return h.Value, nil
	}
	return h.Secret.Resolve(env)
}

// DefaultConfig returns the harvest defaults.
func DefaultConfig() *Config {
	return &Config{
		Tuning: wf.Tuning{
			Partitions:         8,
			Parallelism:        4,
			MaxDeactivateShare: 0.2,
			ApprovalTimeout:    24 * time.Hour,
			HeartbeatTimeout:   30 * time.Second,
			StageTimeout:       6 * time.Hour,
			MaxHistoryEvents:   5000,
			ChainGardener:      true,
		},
		BatchSize:                    20000,
		StageStreams:                 2,
		KeyBuildWorkers:              1,
		MaxFeedBytes:                 2 << 30,
		MaxUnpackedBytes:             8 << 30,
		MaxDeactivateShareUndeclared: 0.01,
		HTTPTimeout:                  30 * time.Second,
		FetchAttempts:                5,
		FetchBudget:                  15 * time.Minute,
		MinFeedRate:                  1024,
		MaxFieldBytes:                feed.DefaultMaxFieldBytes,
		MaxRecordBytes:               feed.DefaultMaxRecordBytes,
		MaxDepth:                     feed.DefaultMaxDepth,
		ProgressInterval:             10 * time.Second,
	}
}

// Supplier finds a configured supplier.
func (c *Config) Supplier(tenant, code string) (Supplier, bool) {
	for _, s := range c.Suppliers {
		if s.Tenant == tenant && s.Code == code {
			return s, true
		}
	}
	return Supplier{}, false
}

// Validate reports every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.Partitions < 1 || c.Partitions > 1024 {
		add("partitions", "must be 1..1024, got %d", c.Partitions)
	}
	if c.Parallelism < 1 {
		add("parallelism", "must be >= 1, got %d", c.Parallelism)
	}
	if c.BatchSize < 100 {
		add("batch_size", "must be >= 100, got %d", c.BatchSize)
	}
	if c.StageStreams < 1 || c.StageStreams > 16 {
		add("stage_streams", "must be 1..16, got %d", c.StageStreams)
	}
	if c.KeyBuildWorkers < 0 || c.KeyBuildWorkers > 64 {
		add("key_build_workers", "must be 0..64, got %d", c.KeyBuildWorkers)
	}
	if c.MaxFeedBytes < 1 {
		add("max_feed_bytes", "must be > 0, got %d", c.MaxFeedBytes)
	}
	if c.MaxUnpackedBytes < c.MaxFeedBytes {
		add("max_unpacked_bytes", "must be >= max_feed_bytes")
	}
	if c.MaxDeactivateShare < 0 || c.MaxDeactivateShare > 1 {
		add("max_deactivate_share", "must be between 0 and 1, got %v", c.MaxDeactivateShare)
	}
	if c.MaxDeactivateShareUndeclared < 0 || c.MaxDeactivateShareUndeclared > 1 {
		add("max_deactivate_share_undeclared", "must be between 0 and 1, got %v", c.MaxDeactivateShareUndeclared)
	}
	for path, d := range map[string]time.Duration{"approval_timeout": c.ApprovalTimeout, "heartbeat_timeout": c.HeartbeatTimeout, "stage_timeout": c.StageTimeout, "http_timeout": c.HTTPTimeout} {
		if d <= 0 {
			add(path, "must be > 0, got %s", d)
		}
	}
	if c.FetchAttempts < 1 {
		add("fetch_attempts", "must be >= 1, got %d", c.FetchAttempts)
	}
	if c.FetchBudget <= 0 {
		add("fetch_budget", "must be > 0, got %s", c.FetchBudget)
	}
	if c.MinFeedRate < 0 {
		add("min_feed_rate", "must be >= 0 (0: no minimum), got %d", c.MinFeedRate)
	}
	if c.MaxFieldBytes < 1 {
		add("max_field_bytes", "must be > 0, got %d", c.MaxFieldBytes)
	}
	if c.MaxRecordBytes < c.MaxFieldBytes || c.MaxRecordBytes > 64<<20 {
		add("max_record_bytes", "must be between max_field_bytes and 64 MiB, got %d", c.MaxRecordBytes)
	}
	if c.MaxDepth < 1 || c.MaxDepth > 1000 {
		add("max_depth", "must be 1..1000, got %d", c.MaxDepth)
	}
	if c.Network.AllowFiles && c.Network.FileRoot == "" {
		add("network.file_root", "required with network.allow_files: file:// feeds are read only below it")
	}
	if c.ProgressInterval < 0 {
		add("progress_interval", "must be >= 0 (0: off), got %s", c.ProgressInterval)
	}
	if c.MaxHistoryEvents != 0 && c.MaxHistoryEvents < 200 {
		add("max_history_events", "must be 0 (server decides) or >= 200, got %d", c.MaxHistoryEvents)
	}
	seen := make(map[string]bool)
	for i, s := range c.Suppliers {
		p := fmt.Sprintf("suppliers[%d]", i)
		if s.Code == "" || s.Tenant == "" {
			add(p, "code and tenant are required")
		}
		key := s.Tenant + "/" + s.Code
		if seen[key] {
			add(p, "supplier %q of tenant %q is listed twice", s.Code, s.Tenant)
		}
		seen[key] = true
		if err := ValidateFeed(s.Feed); err != nil {
			add(p+".feed", "%v", err)
		}
		if s.Mapping != nil {
			if err := product.Mapping(s.Mapping).Validate(); err != nil {
				add(p+".mapping", "%v", err)
			}
		}
		if s.DefaultCurrency != "" && !product.IsCurrency(strings.ToUpper(s.DefaultCurrency)) {
			add(p+".default_currency", "%q is not an ISO 4217 currency code", s.DefaultCurrency)
		}
		if s.Schedule != "" {
			if _, err := cron.ParseStandard(s.Schedule); err != nil {
				add(p+".schedule", "%q is not a cron expression: %v", s.Schedule, err)
			}
		}
		for name, h := range s.Feed.Headers {
			switch {
			case !h.Secret.IsZero():
				if err := h.Secret.Validate(); err != nil {
					add(p+".feed.headers."+name, "%v", err)
				}
			case credentialHeader(name):
				add(p+".feed.headers."+name, "carries a credential, so it must be a secret reference ({env: NAME}, {file: path} or {credential: name}), not a plain value")
			}
			if strings.EqualFold(name, "Authorization") && (s.Feed.BasicAuth != nil || !s.Feed.BearerToken.IsZero()) {
				add(p+".feed.headers."+name, "conflicts with basic_auth or bearer_token")
			}
		}
		if ba := s.Feed.BasicAuth; ba != nil {
			if ba.Username == "" || ba.Password.IsZero() {
				add(p+".feed.basic_auth", "needs username and password (a secret reference)")
			}
			if !s.Feed.BearerToken.IsZero() {
				add(p+".feed", "basic_auth and bearer_token both set: choose one")
			}
		}
	}
	return errors.Join(errs...)
}

// Resolved is what an input resolves to against the config: the feed to
// read, the field mapping and the default currency.
type Resolved struct {
	Feed     Feed
	Mapping  map[string]string
	Currency string
}

// Resolve merges an input with its supplier's configuration and checks the
// result, without I/O: the Begin activity plans a run from it, and the
// starter refuses an input that can only fail (registry.Workflow.Check)
// with the same words. Every problem is reported at once, each naming its
// field.
func (c *Config) Resolve(in wf.Input) (Resolved, error) {
	sup, configured := c.Supplier(in.TenantID, in.SupplierCode)
	if !configured && in.FeedURL == "" {
		return Resolved{}, fmt.Errorf("supplier_code: supplier %q of tenant %q is not configured and the input gives no feed_url",
			in.SupplierCode, in.TenantID)
	}
	f := sup.Feed
	if in.FeedURL != "" {
		f.URL = in.FeedURL
		// configured credentials never go to another URL
		f.Headers, f.BasicAuth, f.BearerToken = nil, nil, secret.Ref{}
	}
	if in.Format != "" {
		f.Format = in.Format
	}
	if in.Delimiter != "" {
		f.Delimiter = in.Delimiter
	}
	if in.RecordElement != "" {
		f.RecordElement = in.RecordElement
	}
	if in.RecordPath != "" {
		f.RecordPath = in.RecordPath
	}
	if in.Encoding != "" {
		f.Encoding = in.Encoding
	}
	var errs []error
	if err := ValidateFeed(f); err != nil {
		errs = append(errs, inputFieldErrors(err, in)...)
	}
	mapping := sup.Mapping
	if in.Mapping != nil {
		mapping = in.Mapping
	}
	if mapping != nil {
		if err := product.Mapping(mapping).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("mapping: %w", err))
		}
	}
	currency := sup.DefaultCurrency
	if in.DefaultCurrency != "" {
		currency = in.DefaultCurrency
	}
	if err := errors.Join(errs...); err != nil {
		return Resolved{}, err
	}
	return Resolved{Feed: f, Mapping: mapping, Currency: currency}, nil
}

// inputFieldErrors names ValidateFeed's problems by the input's fields
// ("url" is the input's feed_url), so the starter's 400 points at the
// field to fix, and says which supplier's feed they concern.
func inputFieldErrors(err error, in wf.Input) []error {
	var out []error
	for _, e := range joined(err) {
		msg := e.Error()
		if rest, ok := strings.CutPrefix(msg, "url: "); ok {
			msg = "feed_url: " + rest
		}
		out = append(out, fmt.Errorf("%s (feed of supplier %s/%s)", msg, in.TenantID, in.SupplierCode))
	}
	return out
}

// joined returns the errors an errors.Join made, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ValidateFeed checks a feed's URL, format and format options.
func ValidateFeed(fd Feed) error {
	rawURL, format, delimiter, recordElement := fd.URL, fd.Format, fd.Delimiter, fd.RecordElement
	var errs []error
	u, err := url.Parse(rawURL)
	switch {
	case rawURL == "":
		errs = append(errs, errors.New("url: missing"))
	case err != nil:
		errs = append(errs, fmt.Errorf("url: %q does not parse", rawURL))
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file":
		errs = append(errs, fmt.Errorf("url: %q must be http(s):// or file://", rawURL))
	case u.User != nil:
		// Never echo the URL: it holds the secret.
		errs = append(errs, errors.New("url: carries credentials (user:password@host), which would stay in clear in Temporal's history; "+
			"configure them on the supplier as secret references (feed.basic_auth, feed.bearer_token or feed.headers)"))
	case numericHost(u.Hostname()):
		errs = append(errs, fmt.Errorf("url: host %q is an IPv4 address written as a number; write it dotted (a.b.c.d)", u.Hostname()))
	}
	f, err := feed.ParseFormat(format)
	if err != nil {
		errs = append(errs, fmt.Errorf("format: %w", err))
	}
	if f == feed.XML && recordElement == "" && fd.RecordPath == "" {
		errs = append(errs, errors.New("record_element: required for xml feeds (or record_path)"))
	}
	if f == feed.XML && recordElement != "" && fd.RecordPath != "" {
		if path := strings.Split(fd.RecordPath, "."); path[len(path)-1] != recordElement {
			errs = append(errs, fmt.Errorf("record_path: %q must end in record_element %q", fd.RecordPath, recordElement))
		}
	}
	if fd.RecordPath != "" && err == nil && f != feed.XML && f != feed.JSON {
		errs = append(errs, fmt.Errorf("record_path: only xml and json feeds have one, not %s", f))
	}
	if fd.Encoding != "" {
		if _, err := htmlindex.Get(fd.Encoding); err != nil {
			errs = append(errs, fmt.Errorf("encoding: %q is not a known encoding (WHATWG labels: windows-1252, iso-8859-2, koi8-r, ...)", fd.Encoding))
		}
	}
	if delimiter != "" && utf8.RuneCountInString(delimiter) != 1 {
		errs = append(errs, fmt.Errorf("delimiter: %q must be one character", delimiter))
	}
	return errors.Join(errs...)
}

// numericHost reports whether host is an IPv4 address in one of the legacy
// forms (2130706433, 0x7f000001, 0177.1, 127.1) that some resolvers and
// tools read as an address: it hides where a feed points, so it is refused.
func numericHost(host string) bool {
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false // a canonical address: checked when dialing
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		p = strings.ToLower(p)
		hex := strings.HasPrefix(p, "0x")
		if hex {
			p = p[2:]
		}
		if p == "" {
			return false
		}
		for _, r := range p {
			if !(r >= '0' && r <= '9' || hex && r >= 'a' && r <= 'f') {
				return false
			}
		}
	}
	return true
}
