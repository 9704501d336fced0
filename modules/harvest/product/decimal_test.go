package product

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // canonical String(); "" when an error is expected
		wantErr error
	}{
		{"plain integer", "1999", "1999", nil},
		{"dot fraction", "12.50", "12.5", nil},
		{"comma fraction", "12,50", "12.5", nil},
		{"four fraction digits", "0.0099", "0.0099", nil},
		{"space grouping, comma decimal", "1 299,00", "1299", nil},
		{"no-break space grouping", "1\u00a0299,99", "1299.99", nil},
		{"narrow no-break space grouping", "12\u202f345\u202f678", "12345678", nil},
		{"comma grouping, dot decimal", "1,299.00", "1299", nil},
		{"dot grouping, comma decimal", "1.299,00", "1299", nil},
		{"apostrophe grouping", "1'299.50", "1299.5", nil},
		{"repeated comma groups", "1,299,000", "1299000", nil},
		{"repeated dot groups", "1.299.000", "1299000", nil},
		{"lone comma is decimal", "1,299", "1.299", nil},
		{"dollar prefix", "$12.50", "12.5", nil},
		{"code suffix", "12.50 EUR", "12.5", nil},
		{"euro prefix with space", "€ 12,50", "12.5", nil},
		{"rouble word suffix", "1 500 руб.", "1500", nil},
		{"german dash style", "12,-", "12", nil},
		{"trailing separator", "12.", "12", nil},
		{"leading separator", ".5", "0.5", nil},
		{"plus sign", "+7", "7", nil},
		{"leading zeros", "007.10", "7.1", nil},
		{"zero", "0", "0", nil},
		{"zero fraction beyond four digits", "12.500000", "12.5", nil},
		{"maximum", "99999999999999.9999", "99999999999999.9999", nil},
		{"surrounding space", "  42 ", "42", nil},
		{"empty", "", "", ErrSyntax},
		{"blank", "   ", "", ErrSyntax},
		{"letters", "abc", "", ErrSyntax},
		{"NaN", "NaN", "", ErrSyntax},
		{"infinity", "Inf", "", ErrSyntax},
		{"exponent", "1e5", "", ErrSyntax},
		{"exponent with sign", "1.5E+3", "", ErrSyntax},
		{"bad grouping", "12,3,4", "", ErrSyntax},
		{"two decimal separators", "1.2.3,4,5", "", ErrSyntax},
		{"mixed grouping", "1 299.000,00", "", ErrSyntax},
		{"short space group", "12 50", "", ErrSyntax},
		{"range", "10-20", "", ErrSyntax},
		{"unknown code", "12 ABC", "", ErrSyntax},
		{"two currencies", "$12 EUR", "", ErrSyntax},
		{"words after number", "12 pieces", "", ErrSyntax},
		{"negative", "-1", "", ErrNegative},
		{"negative with unicode minus", "−12,50", "", ErrNegative},
		{"negative after symbol", "$-3", "", ErrNegative},
		{"five fraction digits", "1.12345", "", ErrPrecision},
		{"overflow", "100000000000000", "", ErrRange},
		{"overflow with grouping", "1,000,000,000,000,000.00", "", ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDecimal(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseDecimal(%q) = %v, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDecimal(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseDecimal(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDecimalErrorText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not a number", "12,3,4", `parse decimal: "12,3,4" is not a number`},
		{"exponent", "1e5", `parse decimal: "1e5" is not a number: exponent notation is not allowed`},
		{"precision", "1.12345", `parse decimal: "1.12345" has more than 4 fraction digits`},
		{"negative", "-1", `parse decimal: "-1" is negative`},
		{"overflow", "123456789012345", `parse decimal: "123456789012345" is larger than 99999999999999.9999`},
		{"unknown currency", "12 XYZ", `parse decimal: "12 XYZ" names unknown currency "XYZ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDecimal(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseDecimal(%q) error = %v, want %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestParsePriceCurrencyHint(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"none", "12.50", ""},
		{"dollar", "$12.50", "USD"},
		{"US dollar", "US$ 5", "USD"},
		{"euro after", "12,50 €", "EUR"},
		{"pound", "£3", "GBP"},
		{"rouble sign", "100 ₽", "RUB"},
		{"rouble word", "100 руб", "RUB"},
		{"rouble word capitalised", "100 Руб.", "RUB"},
		{"yandex RUR", "100 RUR", "RUB"},
		{"code before", "EUR 12.50", "EUR"},
		{"lower-case code", "12.50 usd", "USD"},
		{"same currency twice", "$12 USD", "USD"},
		{"hryvnia", "99 грн", "UAH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := parsePrice(tt.in)
			if err != nil {
				t.Fatalf("parsePrice(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parsePrice(%q) currency = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecimalString(t *testing.T) {
	tests := []struct {
		name  string
		units int64
		want  string
	}{
		{"zero", 0, "0"},
		{"smallest", 1, "0.0001"},
		{"trailing zeros trimmed", 125000, "12.5"},
		{"integer", 19990000, "1999"},
		{"maximum", maxDecimalUnits, "99999999999999.9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decimal{units: tt.units}
			if got := d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if d.IsZero() != (tt.units == 0) {
				t.Errorf("IsZero() = %v for %d units", d.IsZero(), tt.units)
			}
			if d.Units() != tt.units {
				t.Errorf("Units() = %d, want %d", d.Units(), tt.units)
			}
		})
	}
}

func TestDecimalJSON(t *testing.T) {
	in := struct{ Price Decimal }{Decimal{units: 125000}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"Price":"12.5"}` {
		t.Fatalf("Marshal = %s", b)
	}
	var out struct{ Price Decimal }
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("Unmarshal(%s) = %+v, %v", b, out, err)
	}
	if err := json.Unmarshal([]byte(`{"Price":"-1"}`), &out); !errors.Is(err, ErrNegative) {
		t.Fatalf("Unmarshal negative: %v", err)
	}
}

func TestParseDecimalNoAllocs(t *testing.T) {
	for _, s := range []string{"12.50", "1 299,00 ₽", "$1,299.00", "12.50 EUR"} {
		if n := testing.AllocsPerRun(100, func() { _, _, _ = parsePrice(s) }); n > 0 {
			t.Errorf("parsePrice(%q) allocates %.0f times", s, n)
		}
	}
}
