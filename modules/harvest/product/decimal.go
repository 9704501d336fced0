package product

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Decimal is an exact, non-negative amount with at most four fraction
// digits, held as an integer count of 1e-4 units. Its range matches a
// PostgreSQL numeric(18,4) column: 0 to 99999999999999.9999. The zero value
// is 0. Prices never pass through float64.
type Decimal struct {
	units int64 // value × 10^4
}

const (
	decimalScale    = 10000
	decimalFrac     = 4
	maxDecimalInt   = 14 // integer digits
	maxDecimalUnits = 999_999_999_999_999_999
)

// Errors that ParseDecimal wraps; test for them with errors.Is.
var (
	ErrSyntax    = errors.New("not a number")
	ErrNegative  = errors.New("negative amount")
	ErrPrecision = errors.New("more than 4 fraction digits")
	ErrRange     = errors.New("amount out of range")
)

// decimalError is a parse failure; its message is a reason fit for a Reject.
type decimalError struct {
	input  string
	reason string
	kind   error
}

func (e *decimalError) Error() string { return quote(e.input) + " " + e.reason }
func (e *decimalError) Unwrap() error { return e.kind }

// ParseDecimal parses an amount as suppliers write it: "12.50", "12,50",
// "1 299,00", "1,299.00", "1.299,00", "1'299.00", "$12.50", "12.50 EUR",
// "€ 12,50". Currency symbols or codes around the number are accepted and
// ignored (see parsePrice). Separator rules:
//
//   - when both '.' and ',' occur, the last one is the decimal separator and
//     the other groups thousands;
//   - a lone '.' or ',' is always the decimal separator, so "1,299" is 1.299;
//   - a separator that occurs more than once groups thousands;
//   - spaces (also no-break and thin spaces) and apostrophes only group
//     thousands; groups after the first must have exactly three digits.
//
// It rejects empty input, signs other than '+', NaN, infinities, exponent
// notation, more than four significant fraction digits (trailing zeros
// beyond the fourth are fine) and values above 99999999999999.9999.
func ParseDecimal(s string) (Decimal, error) {
	d, _, err := parsePrice(s)
	if err != nil {
		return Decimal{}, fmt.Errorf("parse decimal: %w", err)
	}
	return d, nil
}

// String returns the canonical text form: no exponent, no grouping, '.' as
// the decimal separator, no trailing fraction zeros ("12.5", "1999",
// "0.0099"). ParseDecimal(d.String()) == d.
func (d Decimal) String() string {
	var buf [24]byte
	return string(d.appendText(buf[:0]))
}

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.units == 0 }

// Units returns d as an integer count of 1e-4, e.g. 125000 for 12.5.
func (d Decimal) Units() int64 { return d.units }

// MarshalText implements encoding.TextMarshaler with the String form.
func (d Decimal) MarshalText() ([]byte, error) { return d.appendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDecimal.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d Decimal) appendText(b []byte) []byte {
	ip, fp := d.units/decimalScale, d.units%decimalScale
	b = appendUint(b, uint64(ip))
	if fp == 0 {
		return b
	}
	var frac [decimalFrac]byte
	for i := decimalFrac - 1; i >= 0; i-- {
		frac[i] = byte('0' + fp%10)
		fp /= 10
	}
	n := decimalFrac
	for frac[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, frac[:n]...)
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// parsePrice parses s like ParseDecimal and also returns the currency that a
// symbol or code around the number names ("$" -> "USD", "12 руб" -> "RUB"),
// or "" when there is none. The error, if any, is a *decimalError whose
// message can serve directly as a Reject reason.
func parsePrice(s string) (Decimal, string, error) {
	t := trimSpace(s)
	if t == "" {
		return Decimal{}, "", &decimalError{s, "is empty", ErrSyntax}
	}
	if d, ok := parsePlainAmount(t); ok {
		return d, "", nil
	}
	// The number runs from the first digit, sign or separator to the last
	// digit; whatever surrounds it may only be a currency.
	start := strings.IndexFunc(t, isNumberStart)
	end := lastDigit(t) + 1
	if start < 0 || end == 0 || start >= end {
		return Decimal{}, "", &decimalError{s, "is not a number", ErrSyntax}
	}
	prefix, body, suffix := t[:start], t[start:end], t[end:]
	suffix = trimTrailingSeparator(suffix)
	cur, err := priceCurrency(s, prefix, suffix)
	if err != nil {
		return Decimal{}, "", err
	}
	d, err := parseAmount(s, body)
	if err != nil {
		return Decimal{}, "", err
	}
	return d, cur, nil
}

// parsePlainAmount parses the shape most feeds use, 1 to 14 digits with an
// optional '.' or ',' and 1 to 4 fraction digits ("12", "12.50", "12,5"),
// which parsePrice would read the same way by the rules above. It reports
// false for anything else.
func parsePlainAmount(s string) (Decimal, bool) {
	var units int64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		units = units*10 + int64(s[i]-'0')
	}
	if i == 0 || i > maxDecimalInt {
		return Decimal{}, false
	}
	frac := 0
	if i < len(s) {
		if s[i] != '.' && s[i] != ',' {
			return Decimal{}, false
		}
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			units = units*10 + int64(s[i]-'0')
			frac++
		}
		if i < len(s) || frac == 0 || frac > decimalFrac {
			return Decimal{}, false
		}
	}
	for ; frac < decimalFrac; frac++ {
		units *= 10
	}
	return Decimal{units: units}, true
}

func isNumberStart(r rune) bool {
	return r >= '0' && r <= '9' || r == '.' || r == ',' || r == '+' || r == '-' || r == '−'
}

func lastDigit(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			return i
		}
	}
	return -1
}

// trimTrailingSeparator drops what may follow the last digit without being
// a currency: the separator of "12." and the German "12,-" style.
func trimTrailingSeparator(s string) string {
	for _, sep := range [...]string{",-", ".-", ",", "."} {
		if rest, ok := strings.CutPrefix(s, sep); ok {
			if r, _ := utf8.DecodeRuneInString(rest); rest == "" || unicode.IsSpace(r) {
				return rest
			}
		}
	}
	return s
}

// priceCurrency resolves the text before and after the number: each must
// be empty or name a currency, and two must agree.
func priceCurrency(in, prefix, suffix string) (string, error) {
	pc, err := tokenCurrency(in, prefix)
	if err != nil {
		return "", err
	}
	sc, err := tokenCurrency(in, suffix)
	if err != nil {
		return "", err
	}
	switch {
	case pc == "":
		return sc, nil
	case sc != "" && sc != pc:
		return "", &decimalError{in, "names two currencies, " + pc + " and " + sc, ErrSyntax}
	}
	return pc, nil
}

func tokenCurrency(in, token string) (string, error) {
	if token = trimSpace(token); token == "" {
		return "", nil
	}
	if code, ok := lookupCurrency(token); ok {
		return code, nil
	}
	if isLetters3(token) {
		return "", &decimalError{in, "names unknown currency " + quote(token), ErrSyntax}
	}
	return "", &decimalError{in, "is not a number", ErrSyntax}
}

func isLetters3(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// isGroupSpace reports whether r may group thousands ("1 299", "1'299").
func isGroupSpace(r rune) bool {
	return r == ' ' || r == '\'' || r == '\u00a0' || r == '\u202f' || r == '\u2009' || r == '’'
}

// parseAmount parses the number between any currency text.
func parseAmount(in, body string) (Decimal, error) {
	switch {
	case strings.HasPrefix(body, "-"), strings.HasPrefix(body, "−"):
		return Decimal{}, &decimalError{in, "is negative", ErrNegative}
	case strings.HasPrefix(body, "+"):
		body = body[1:]
	}
	// Classify the separators in one pass.
	var dots, commas, spaces, lastDot, lastComma int
	for i, r := range body {
		switch {
		case r >= '0' && r <= '9':
		case r == '.':
			dots++
			lastDot = i
		case r == ',':
			commas++
			lastComma = i
		case isGroupSpace(r):
			spaces++
		case r == 'e' || r == 'E':
			return Decimal{}, &decimalError{in, "is not a number: exponent notation is not allowed", ErrSyntax}
		default:
			return Decimal{}, &decimalError{in, "is not a number", ErrSyntax}
		}
	}
	var group byte // '.', ',', ' ' (any group space) or 0
	decAt := -1
	switch {
	case dots > 0 && commas > 0:
		if lastDot > lastComma {
			decAt, group = lastDot, ','
			if dots > 1 {
				return Decimal{}, &decimalError{in, "is not a number", ErrSyntax}
			}
		} else {
			decAt, group = lastComma, '.'
			if commas > 1 {
				return Decimal{}, &decimalError{in, "is not a number", ErrSyntax}
			}
		}
	case dots == 1:
		decAt = lastDot
	case commas == 1:
		decAt = lastComma
	case dots > 1:
		group = '.'
	case commas > 1:
		group = ','
	}
	if spaces > 0 {
		if group != 0 {
			return Decimal{}, &decimalError{in, "is not a number", ErrSyntax} // two kinds of grouping
		}
		group = ' '
	}
	intPart, fracPart := body, ""
	if decAt >= 0 {
		intPart, fracPart = body[:decAt], body[decAt+1:]
	}
	if !validGrouping(intPart, group) {
		return Decimal{}, &decimalError{in, "is not a number", ErrSyntax}
	}
	for i := 0; i < len(fracPart); i++ {
		if fracPart[i] < '0' || fracPart[i] > '9' {
			return Decimal{}, &decimalError{in, "is not a number", ErrSyntax}
		}
	}
	// Accumulate the integer digits, skipping group separators (their
	// bytes are never ASCII digits) and leading zeros.
	var units int64
	digits, significant := 0, 0
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			continue
		}
		digits++
		if significant == 0 && c == '0' {
			continue
		}
		significant++
		if significant > maxDecimalInt {
			return Decimal{}, &decimalError{in, "is larger than 99999999999999.9999", ErrRange}
		}
		units = units*10 + int64(c-'0')
	}
	if digits == 0 && fracPart == "" {
		return Decimal{}, &decimalError{in, "is not a number", ErrSyntax}
	}
	if len(fracPart) > decimalFrac {
		if strings.TrimRight(fracPart[decimalFrac:], "0") != "" {
			return Decimal{}, &decimalError{in, "has more than 4 fraction digits", ErrPrecision}
		}
		fracPart = fracPart[:decimalFrac]
	}
	for i := 0; i < decimalFrac; i++ {
		units *= 10
		if i < len(fracPart) {
			units += int64(fracPart[i] - '0')
		}
	}
	return Decimal{units: units}, nil
}

// validGrouping checks the thousands grouping of an integer part. With
// group 0 the part must be plain digits; otherwise the first group has 1-3
// digits and every later one exactly 3.
func validGrouping(s string, group byte) bool {
	if group == 0 {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	n := 0 // digits in the current group
	first := true
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			n++
		case (group == ' ' && isGroupSpace(r)) || (group != ' ' && r == rune(group)):
			if n == 0 || n > 3 || (!first && n != 3) {
				return false
			}
			first = false
			n = 0
		default:
			return false
		}
	}
	return first || n == 3
}
