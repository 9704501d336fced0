// Package ident says what a tenant id or supplier code may look like. The
// same rule holds in workflow inputs, workflow ids and the starter's tokens,
// because these names end up in workflow ids and visibility queries. Pure:
// no I/O.
package ident

import (
	"fmt"
	"regexp"
)

var pattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Valid reports whether s is a valid tenant id or supplier code: 1-64
// letters, digits, '_', '.' or '-', starting with a letter or digit.
func Valid(s string) bool { return pattern.MatchString(s) }

// Check returns an error naming field when value is not Valid.
func Check(field, value string) error {
	if Valid(value) {
		return nil
	}
	return fmt.Errorf("%s: %q must be 1-64 letters, digits, '_', '.' or '-'", field, value)
}
