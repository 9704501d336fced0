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
	if !allDigits(s) {
		if hasGTINSeparator(s) {
			digits = strings.Map(func(r rune) rune {
				if r == ' ' || r == '-' || r == '\u00a0' {
					return -1
				}
				return r
			}, s)
		}
		if !allDigits(digits) {
			return "", quote(s) + " contains a character other than digits, spaces and dashes"
		}
	}
	switch len(digits) {
	case 8, 12, 13, 14:
	default:
		return "", quote(s) + " has " + strconv.Itoa(len(digits)) + " digits, want 8, 12, 13 or 14"
	}
	last := len(digits) - 1
	sum := gs1Sum(digits[:last])
	if sum == 0 && digits[last] == '0' { // the weights are positive
		return "", quote(s) + " is all zeros"
	}
	if got, want := digits[last]-'0', gs1Check(sum); got != want {
		return "", "check digit is " + strconv.Itoa(int(got)) + ", want " + strconv.Itoa(int(want))
	}
	return digits, ""
}

// allDigits reports whether s holds only ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// gs1Sum is the weighted sum of the digits of a GS1 payload, for its mod-10
// check digit: weights 3 and 1 alternate from the rightmost digit.
func gs1Sum(payload string) int {
	sum := 0
	w := 3
	for i := len(payload) - 1; i >= 0; i-- {
		sum += int(payload[i]-'0') * w
		w = 4 - w
	}
	return sum
}

// gs1Check returns the check digit that brings the weighted sum up to a
// multiple of 10.
func gs1Check(sum int) byte { return byte((10 - sum%10) % 10) }

// hasGTINSeparator reports whether s holds a space, a dash or a no-break
// space (bytes C2 A0, which always decode as U+00A0): what normalizeGTIN
// removes. It is strings.ContainsAny(s, " -\u00a0") without decoding runes.
func hasGTINSeparator(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '-':
			return true
		case 0xc2:
			if i+1 < len(s) && s[i+1] == 0xa0 {
				return true
			}
		}
	}
	return false
}
