package product

import (
	"crypto/sha256"
	"encoding/hex"
	"iter"
	"os"
	"path/filepath"
	"testing"
)

// pairs is a test Source in document order, as a feed record is.
type pairs [][2]string

func (p pairs) Get(name string) string {
	for _, f := range p {
		if f[0] == name {
			return f[1]
		}
	}
	return ""
}

func (p pairs) All(name string) []string {
	var out []string
	for _, f := range p {
		if f[0] == name {
			out = append(out, f[1])
		}
	}
	return out
}

func (p pairs) Pairs() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range p {
			if !yield(f[0], f[1]) {
				return
			}
		}
	}
}

func sourceKey(t *testing.T, opts Options, src pairs) uint64 {
	t.Helper()
	k := newNormalizer(t, opts).SourceKey(nil)
	for name, value := range src.Pairs() {
		k.Add(name, value)
	}
	return k.Sum()
}

// TestSourceKeyCoversInputAndOptions: a key changes with anything that may
// change what Normalize returns, and only then.
func TestSourceKeyCoversInputAndOptions(t *testing.T) {
	base := pairs{{"sku", "A-1"}, {"name", "Hammer"}, {"price", "12.50"}, {"images", "x"}, {"images", "y"}}
	opts := Options{DefaultCurrency: "EUR"}
	want := sourceKey(t, opts, base)
	if again := sourceKey(t, opts, append(pairs(nil), base...)); again != want {
		t.Fatalf("equal records: keys %x and %x", want, again)
	}
	long := append(pairs{{"description", string(make([]byte, 5000))}}, base...)
	differ := []struct {
		name string
		opts Options
		src  pairs
	}{
		{"value", opts, pairs{{"sku", "A-1"}, {"name", "Hammer"}, {"price", "12.51"}, {"images", "x"}, {"images", "y"}}},
		{"name of a field", opts, pairs{{"sku", "A-1"}, {"title", "Hammer"}, {"price", "12.50"}, {"images", "x"}, {"images", "y"}}},
		{"order of values", opts, pairs{{"sku", "A-1"}, {"name", "Hammer"}, {"price", "12.50"}, {"images", "y"}, {"images", "x"}}},
		{"value boundaries", opts, pairs{{"sku", "A-1"}, {"name", "Hammer"}, {"price", "12.50"}, {"images", "xy"}, {"images", ""}}},
		{"a field less", opts, base[:4]},
		{"a long record", opts, long},
		{"default currency", Options{DefaultCurrency: "USD"}, base},
		{"format", Options{DefaultCurrency: "EUR", Format: "yml"}, base},
		{"mapping", Options{DefaultCurrency: "EUR", Mapping: Mapping{"name": "title"}}, base},
		{"attribute mapping", Options{DefaultCurrency: "EUR", Mapping: Mapping{"attributes.color": "colour"}}, base},
		{"category separator", Options{DefaultCurrency: "EUR", CategorySeparator: ";"}, base},
	}
	seen := map[uint64]string{want: "base"}
	for _, c := range differ {
		t.Run(c.name, func(t *testing.T) {
			k := sourceKey(t, c.opts, c.src)
			if other, dup := seen[k]; dup {
				t.Fatalf("key %x equals that of %s", k, other)
			}
			seen[k] = c.name
		})
	}
	// Reusing a key's memory changes nothing.
	n := newNormalizer(t, opts)
	k := n.SourceKey(nil)
	k.Add("x", string(make([]byte, 3000)))
	k = n.SourceKey(k.Buf())
	for name, value := range base.Pairs() {
		k.Add(name, value)
	}
	if k.Sum() != want {
		t.Errorf("key with reused memory %x, want %x", k.Sum(), want)
	}
}

// TestSKUAgreesWithNormalize: SKU gives what Normalize gives, and refuses
// what Normalize refuses for its SKU.
func TestSKUAgreesWithNormalize(t *testing.T) {
	n := newNormalizer(t, Options{DefaultCurrency: "EUR"})
	for _, c := range []struct {
		name, sku string
		ok        bool
	}{
		{"plain", "A-1", true},
		{"trimmed", "  A-1 ", true},
		{"unicode to NFC", "Cafe\u0301", true},
		{"missing", "  ", false},
		{"control character", "A\x01", false},
		{"too long", string(make([]byte, MaxSKULen+1)), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := pairs{{"sku", c.sku}, {"name", "N"}, {"price", "1"}}
			got, ok := n.SKU(src.Get(n.SKUField()))
			p, err := n.Normalize(src)
			if ok != c.ok || ok != (err == nil) {
				t.Fatalf("SKU ok = %v, Normalize error %v; want ok %v", ok, err, c.ok)
			}
			if ok && got != p.SKU {
				t.Errorf("SKU = %q, Normalize's SKU = %q", got, p.SKU)
			}
		})
	}
}

// TestRulesVersionPinned: stored content hashes and source keys are only
// comparable while the normalisation rules stay the same. When the golden
// outputs change, hashVersion must change with them (every product is then
// rewritten once, and no stale source key matches).
func TestRulesVersionPinned(t *testing.T) {
	pinned := map[string]string{
		"product/v1": "594f3f35d83b09df03ea77672cd26ef49d84ad52faa4c7ebc5266ff7c5c705f6",
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(filepath.Base(f)))
		h.Write(b)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want, ok := pinned[hashVersion]; !ok || got != want {
		t.Fatalf("the golden normalisation outputs digest to %s under hashVersion %q (pinned: %q): "+
			"when normalisation changes, bump hashVersion and pin the new digest here", got, hashVersion, want)
	}
}
