package config

import (
	"errors"
	"fmt"
	"strings"
)

// ValidationError reports every problem found in a configuration at once,
// one per line.
type ValidationError struct{ Problems []error }

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  - " + p.Error()
	}
	noun := "problems"
	if len(e.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("invalid configuration (%d %s):\n%s", len(e.Problems), noun, strings.Join(lines, "\n"))
}

// Unwrap lets errors.Is and errors.As see each problem.
func (e *ValidationError) Unwrap() []error { return e.Problems }

func joinErrs(errs []error) error {
	var flat []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ve *ValidationError
		if errors.As(err, &ve) {
			flat = append(flat, ve.Problems...)
			continue
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			flat = append(flat, j.Unwrap()...)
			continue
		}
		flat = append(flat, err)
	}
	if len(flat) == 0 {
		return nil
	}
	return &ValidationError{Problems: flat}
}

// fieldErr formats a problem with a field path.
func fieldErr(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
}
