// Package admission decides whether an SNO enters a tenant's knowledge
// base or waits in quarantine, and why. It holds the poisoning defences'
// rules and their knobs; the counts they need (documents from a source in
// a window, near-duplicates) are looked up by the caller. Pure: no I/O.
package admission

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"contextworker/modules/ingest/sno"
)

// Reason is a reason code recorded with a quarantined SNO.
type Reason string

// The reason codes. Each defence has one.
const (
	// Empty: no text, or only white space.
	Empty Reason = "empty"
	// Oversize: more than max_doc_bytes.
	Oversize Reason = "oversize"
	// InvalidUTF8: not valid UTF-8.
	InvalidUTF8 Reason = "invalid_utf8"
	// Binary: NUL bytes or more than max_control_share control characters.
	Binary Reason = "binary"
	// NoHypothesis: the extractor found no sentence to build an SNO on.
	NoHypothesis Reason = "no_hypothesis"
	// LowTrust: trust at or below trust_threshold.
	LowTrust Reason = "low_trust"
	// RateLimited: the source sent more than rate_limit documents within
	// rate_window.
	RateLimited Reason = "rate_limited"
	// NearDuplicateFlood: the source sent a near-identical document
	// (cosine similarity of the documents' embeddings at least
	// flood_similarity) within flood_window, flood_after times already.
	NearDuplicateFlood Reason = "near_duplicate_flood"
	// UnresolvedCitations: more than max_unresolved_share of the evidence
	// cites nothing resolvable (see extract.Citation).
	UnresolvedCitations Reason = "unresolved_citations"
)

// Config holds the admission knobs (modules.ingest.admission).
type Config struct {
	// TrustThreshold: an SNO is admitted when its trust is above it.
	TrustThreshold float64 `yaml:"trust_threshold"`
	// MaxDocBytes bounds a document's size.
	MaxDocBytes int `yaml:"max_doc_bytes"`
	// MaxControlShare is the share of control characters (other than
	// tab, newline, carriage return, form feed) above which a text is
	// binary.
	MaxControlShare float64 `yaml:"max_control_share"`
	// RateLimit is how many documents one source may send per RateWindow
	// before the rest are quarantined; 0 turns the limit off.
	RateLimit  int           `yaml:"rate_limit"`
	RateWindow time.Duration `yaml:"rate_window"`
	// FloodSimilarity is the cosine similarity at which two documents are
	// near-duplicates; FloodAfter how many near-duplicates of a document a
	// source may have sent within FloodWindow before it is quarantined
	// (1: the first passes, every later one is held). 0 turns it off.
	FloodSimilarity float64       `yaml:"flood_similarity"`
	FloodWindow     time.Duration `yaml:"flood_window"`
	FloodAfter      int           `yaml:"flood_after"`
	// FloodScan bounds the recent documents of a source compared with.
	FloodScan int `yaml:"flood_scan"`
	// MaxUnresolvedShare: an SNO whose evidence is more than this share
	// unresolvable is quarantined; 1 turns it off.
	MaxUnresolvedShare float64 `yaml:"max_unresolved_share"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		TrustThreshold: 0.3, MaxDocBytes: 1 << 20, MaxControlShare: 0.02,
		RateLimit: 600, RateWindow: time.Minute,
		FloodSimilarity: 0.9, FloodWindow: time.Hour, FloodAfter: 1, FloodScan: 500,
		MaxUnresolvedShare: 0.5,
	}
}

// Validate reports every problem, each naming its field.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.TrustThreshold < 0 || c.TrustThreshold >= 1 {
		add("trust_threshold", "must be in [0,1), got %v", c.TrustThreshold)
	}
	if c.MaxDocBytes < 1 || c.MaxDocBytes > 64<<20 {
		add("max_doc_bytes", "must be 1..67108864, got %d", c.MaxDocBytes)
	}
	if c.MaxControlShare < 0 || c.MaxControlShare > 1 {
		add("max_control_share", "must be in [0,1], got %v", c.MaxControlShare)
	}
	if c.RateLimit < 0 || (c.RateLimit > 0 && c.RateWindow <= 0) {
		add("rate_limit", "must be >= 0, with rate_window > 0 when set (got %d per %s)", c.RateLimit, c.RateWindow)
	}
	if c.FloodAfter < 0 || (c.FloodAfter > 0 && (c.FloodWindow <= 0 || c.FloodSimilarity <= 0 || c.FloodSimilarity > 1 || c.FloodScan < 1)) {
		add("flood_after", "must be >= 0, with flood_window > 0, flood_similarity in (0,1] and flood_scan >= 1 when set")
	}
	if c.MaxUnresolvedShare < 0 || c.MaxUnresolvedShare > 1 {
		add("max_unresolved_share", "must be in [0,1], got %v", c.MaxUnresolvedShare)
	}
	return errors.Join(errs...)
}

// CheckText applies the size and encoding limits to a raw document and
// returns the reasons it fails them, or none. An oversize document is not
// scanned further, so a hostile size costs nothing more.
func CheckText(b []byte, c Config) []Reason {
	if len(b) > c.MaxDocBytes {
		return []Reason{Oversize}
	}
	var out []Reason
	if !utf8.Valid(b) {
		out = append(out, InvalidUTF8)
	}
	ctrl, runes, blank := 0, 0, true
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		i += n
		runes++
		switch {
		case r == 0:
			ctrl = len(b) // a NUL byte is binary whatever the share
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f', r == 0x7f:
			ctrl++
		}
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' && r != '\f' && r != '\v' {
			blank = false
		}
	}
	if blank {
		return []Reason{Empty}
	}
	if float64(ctrl) > c.MaxControlShare*float64(runes) {
		out = append(out, Binary)
	}
	return out
}

// Facts are what the caller found out about a scored SNO and its source.
type Facts struct {
	// Trust is the SNO's trust score.
	Trust float64
	// FromSourceInWindow counts the documents the source sent within
	// rate_window before this one.
	FromSourceInWindow int
	// NearDuplicates counts the source's documents within flood_window
	// before this one that are near-duplicates of it.
	NearDuplicates int
	// Evidence is the SNO's evidence set.
	Evidence []sno.Evidence
}

// Decide returns the reasons to quarantine an SNO, in a fixed order; none
// means it is admitted.
func Decide(c Config, f Facts) []Reason {
	var out []Reason
	if c.RateLimit > 0 && f.FromSourceInWindow >= c.RateLimit {
		out = append(out, RateLimited)
	}
	if c.FloodAfter > 0 && f.NearDuplicates >= c.FloodAfter {
		out = append(out, NearDuplicateFlood)
	}
	if n := len(f.Evidence); n > 0 && c.MaxUnresolvedShare < 1 {
		bad := 0
		for _, e := range f.Evidence {
			if !e.Resolved {
				bad++
			}
		}
		if float64(bad)/float64(n) > c.MaxUnresolvedShare {
			out = append(out, UnresolvedCitations)
		}
	}
	if f.Trust <= c.TrustThreshold {
		out = append(out, LowTrust)
	}
	return out
}
