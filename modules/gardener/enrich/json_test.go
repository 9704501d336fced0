package enrich_test

import (
	"encoding/json"
	"math"
	"testing"

	"contextworker/modules/gardener/enrich"
)

var jsonStrings = []string{
	"", "plain", "Hansen & Co", "<b>bold</b>", `quote " and \ backslash`, "tab\tnew\nline\r\f\b", "\x00\x01\x1f\x7f",
	"\u2028\u2029", "\xff\xfe broken", "half \xe2\x82", "Ærø Øst ßtraße", "日本語", "emoji 🎉", "\ufffd", "a\u00adb",
}

var jsonFloats = []float64{
	0, 1, -1, 0.5, 0.0005, 5e-7, 1e-6, 9.99999e-7, 1e-7, 1e-12, 123456789, 1e20, 1e21, 1.5e21, -1e21, 1e300,
	0.1 + 0.2, 0.45359237, 999999999000, math.SmallestNonzeroFloat64, math.MaxFloat64, -0.0, 2.95735295625e-5,
}

// TestAppendJSON: the appenders write what json.Marshal writes.
func TestAppendJSON(t *testing.T) {
	for _, s := range jsonStrings {
		want, _ := json.Marshal(s)
		if got := enrich.AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
	for _, f := range jsonFloats {
		want, _ := json.Marshal(f)
		if got := enrich.AppendFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	for _, b := range []bool{true, false} {
		want, _ := json.Marshal(b)
		if got := enrich.AppendBool(nil, b); string(got) != string(want) {
			t.Errorf("AppendBool(%v) = %s, want %s", b, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := enrich.AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range jsonFloats {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		if err != nil {
			t.Skip("not finite")
		}
		if got := enrich.AppendFloat(nil, v); string(got) != string(want) {
			t.Fatalf("AppendFloat(%v) = %s, want %s", v, got, want)
		}
	})
}
