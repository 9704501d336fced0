package admission

import (
	"reflect"
	"strings"
	"testing"

	"contextworker/modules/ingest/sno"
)

func TestCheckText(t *testing.T) {
	c := DefaultConfig()
	c.MaxDocBytes = 100
	tests := []struct {
		name string
		in   []byte
		want []Reason
	}{
		{"honest", []byte("We show that x holds.\n\tBecause y."), nil},
		{"empty", nil, []Reason{Empty}},
		{"white space", []byte(" \n\t\r\n "), []Reason{Empty}},
		{"oversize", []byte(strings.Repeat("a", 101)), []Reason{Oversize}},
		{"exactly the limit", []byte(strings.Repeat("a", 100)), nil},
		{"invalid utf-8", []byte("caf\xe9 au lait"), []Reason{InvalidUTF8}},
		{"nul byte", []byte("text\x00more text"), []Reason{Binary}},
		{"control characters", []byte("ab\x01\x02\x03cdefgh"), []Reason{Binary}},
		{"binary junk", []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0xff, 0xfe}, []Reason{InvalidUTF8, Binary}},
		{"unicode text", []byte("Straße, 東京, ça va."), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckText(tt.in, c); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("CheckText = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	c := DefaultConfig()
	c.RateLimit = 10
	resolved := sno.NewEvidence("a", "ref:1", 0.6, true)
	forged := sno.NewEvidence("b", "doi:fake", 0.2, false)
	tests := []struct {
		name string
		f    Facts
		want []Reason
	}{
		{"admitted", Facts{Trust: 0.5, Evidence: []sno.Evidence{resolved}}, nil},
		{"low trust", Facts{Trust: 0.2}, []Reason{LowTrust}},
		{"at the threshold", Facts{Trust: 0.3}, []Reason{LowTrust}},
		{"rate limited", Facts{Trust: 0.5, FromSourceInWindow: 10}, []Reason{RateLimited}},
		{"under the rate", Facts{Trust: 0.5, FromSourceInWindow: 9}, nil},
		{"first of a flood", Facts{Trust: 0.5, NearDuplicates: 0}, nil},
		{"flood", Facts{Trust: 0.5, NearDuplicates: 1}, []Reason{NearDuplicateFlood}},
		{"half unresolved", Facts{Trust: 0.5, Evidence: []sno.Evidence{resolved, forged}}, nil},
		{"forged citations", Facts{Trust: 0.5, Evidence: []sno.Evidence{forged, resolved, forged}}, []Reason{UnresolvedCitations}},
		{"all at once", Facts{Trust: 0.1, FromSourceInWindow: 11, NearDuplicates: 3, Evidence: []sno.Evidence{forged}},
			[]Reason{RateLimited, NearDuplicateFlood, UnresolvedCitations, LowTrust}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(c, tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
	off := c
	off.RateLimit, off.FloodAfter, off.MaxUnresolvedShare = 0, 0, 1
	if got := Decide(off, Facts{Trust: 0.9, FromSourceInWindow: 1e6, NearDuplicates: 1e6, Evidence: []sno.Evidence{forged}}); got != nil {
		t.Fatalf("defences turned off still quarantine: %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{TrustThreshold: 1, MaxDocBytes: 0, MaxControlShare: 2, RateLimit: 5, FloodAfter: 1, MaxUnresolvedShare: -1}
	err := bad.Validate()
	for _, field := range []string{"trust_threshold", "max_doc_bytes", "max_control_share", "rate_limit", "flood_after", "max_unresolved_share"} {
		if err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("Validate = %v, want an error naming %s", err, field)
		}
	}
}
