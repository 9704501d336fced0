package product

import (
	"strconv"
	"strings"
)

// normalizeGTIN validates a GTIN (EAN-8, UPC-A, EAN-13 or GTIN-14) and
// returns its digits with spaces and dashes removed. The length is kept as
// given: padding a UPC-A to 13 digits would change the value suppliers and
// marketplaces match on. On failure it returns the reason for a Reject.
func normalizeGTIN(s string) (string, string) {
	digits := s
	if strings.ContainsAny(s, " -\u00a0") {
		digits = strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' || r == '\u00a0' {
				return -1
			}
			return r
		}, s)
	}
	zeros := true
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return "", quote(s) + " contains a character other than digits, spaces and dashes"
		}
		if c != '0' {
			zeros = false
		}
	}
	switch len(digits) {
	case 8, 12, 13, 14:
	default:
		return "", quote(s) + " has " + strconv.Itoa(len(digits)) + " digits, want 8, 12, 13 or 14"
	}
	if zeros {
		return "", quote(s) + " is all zeros"
	}
	last := len(digits) - 1
	if got, want := digits[last]-'0', gs1CheckDigit(digits[:last]); got != want {
		return "", "check digit is " + strconv.Itoa(int(got)) + ", want " + strconv.Itoa(int(want))
	}
	return digits, ""
}

// gs1CheckDigit computes the GS1 mod-10 check digit of payload: weights 3
// and 1 alternate from the rightmost digit, and the check digit brings the
// weighted sum up to a multiple of 10.
func gs1CheckDigit(payload string) byte {
	sum := 0
	w := 3
	for i := len(payload) - 1; i >= 0; i-- {
		sum += int(payload[i]-'0') * w
		w = 4 - w
	}
	return byte((10 - sum%10) % 10)
}
