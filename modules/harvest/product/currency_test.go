package product

import (
	"slices"
	"strings"
	"testing"
)

func TestActiveCurrenciesSorted(t *testing.T) {
	if !slices.IsSorted(activeCurrencies[:]) {
		t.Fatal("activeCurrencies is not sorted")
	}
	for i, c := range activeCurrencies {
		if len(c) != 3 || !IsCurrency(c) {
			t.Errorf("activeCurrencies[%d] = %q is not a findable 3-letter code", i, c)
		}
		if i > 0 && activeCurrencies[i-1] == c {
			t.Errorf("duplicate code %q", c)
		}
	}
	for _, a := range currencyAliases {
		if !IsCurrency(a.code) {
			t.Errorf("alias %q maps to unknown code %q", a.alias, a.code)
		}
	}
}

// TestFindCurrencyEveryCode looks up every three-letter code, in upper
// and lower case, against a scan of activeCurrencies.
func TestFindCurrencyEveryCode(t *testing.T) {
	found := 0
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			for c := 'A'; c <= 'Z'; c++ {
				code := string([]rune{a, b, c})
				want := slices.Contains(activeCurrencies[:], code)
				if got, ok := findCurrency(code, false); ok != want || ok && got != code {
					t.Errorf("findCurrency(%q, false) = %q, %v; want %v", code, got, ok, want)
				}
				lower := strings.ToLower(code)
				if got, ok := findCurrency(lower, true); ok != want || ok && got != code {
					t.Errorf("findCurrency(%q, true) = %q, %v; want %v", lower, got, ok, want)
				}
				if _, ok := findCurrency(lower, false); ok {
					t.Errorf("findCurrency(%q, false) found it; want upper case only", lower)
				}
				if want {
					found++
				}
			}
		}
	}
	if found != len(activeCurrencies) {
		t.Errorf("found %d codes; want all %d", found, len(activeCurrencies))
	}
	for _, s := range []string{"", "EU", "EURO", "E1R", "EU ", "@UR", "[UR", "EU`", "EU{", "ÉUR"} {
		if got, ok := findCurrency(s, true); ok {
			t.Errorf("findCurrency(%q, true) = %q; want none", s, got)
		}
	}
}

func TestLookupCurrency(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"upper-case code", "EUR", "EUR", true},
		{"lower-case code", "usd", "USD", true},
		{"padded", " GBP ", "GBP", true},
		{"yandex RUR", "RUR", "RUB", true},
		{"yandex rur lower", "rur", "RUB", true},
		{"first code", "AED", "AED", true},
		{"last code", "ZWL", "ZWL", true},
		{"dollar sign", "$", "USD", true},
		{"rouble sign", "₽", "RUB", true},
		{"unknown code", "XYZ", "", false},
		{"no currency", "XXX", "", false},
		{"testing code", "XTS", "", false},
		{"withdrawn long ago", "DEM", "", false},
		{"too long", "EURO", "", false},
		{"digits", "978", "", false},
		{"empty", "", "", false},
		{"yen is ambiguous", "¥", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := lookupCurrency(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("lookupCurrency(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestIsCurrencyIsStrict(t *testing.T) {
	for _, s := range []string{"eur", "RUR", "$"} {
		if IsCurrency(s) {
			t.Errorf("IsCurrency(%q) = true; want only canonical upper-case codes", s)
		}
	}
}

// TestCurrencyDetection covers where Normalize takes the currency from.
func TestCurrencyDetection(t *testing.T) {
	base := record{"sku": {"A1"}, "name": {"Thing"}}
	tests := []struct {
		name       string
		price      string
		currency   string // the currency field; "" = absent
		defaultCur string
		want       string
		wantErr    string
	}{
		{"field wins over hint", "$12", "EUR", "", "EUR", ""},
		{"field wins over default", "12", "eur", "USD", "EUR", ""},
		{"field RUR read as RUB", "12", "RUR", "", "RUB", ""},
		{"field symbol", "12", "€", "", "EUR", ""},
		{"hint dollar", "$12.50", "", "", "USD", ""},
		{"hint euro", "€ 12,50", "", "", "EUR", ""},
		{"hint pound", "£12", "", "", "GBP", ""},
		{"hint rouble sign", "12 ₽", "", "", "RUB", ""},
		{"hint rouble word", "12 руб", "", "", "RUB", ""},
		{"hint leading code", "CHF 12", "", "", "CHF", ""},
		{"hint trailing code", "12 PLN", "", "", "PLN", ""},
		{"hint wins over default", "12 SEK", "", "USD", "SEK", ""},
		{"default", "12", "", "KZT", "KZT", ""},
		{"missing", "12", "", "", "", "currency: missing"},
		{"unknown field", "12", "DOLLARS", "", "", `currency: "DOLLARS" is not an active ISO 4217 code`},
		{"unknown hint", "12 QQQ", "", "", "", `price: "12 QQQ" names unknown currency "QQQ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNormalizer(t, Options{DefaultCurrency: tt.defaultCur})
			rec := base.with("price", tt.price)
			if tt.currency != "" {
				rec = rec.with("currency", tt.currency)
			}
			p, err := n.Normalize(rec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Normalize error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if p.Currency != tt.want {
				t.Errorf("Currency = %q, want %q", p.Currency, tt.want)
			}
		})
	}
}

func TestMaxAliasLen(t *testing.T) {
	for _, a := range currencyAliases {
		if len(a.alias) > maxAliasLen {
			t.Errorf("alias %q is longer than maxAliasLen %d", a.alias, maxAliasLen)
		}
	}
}
