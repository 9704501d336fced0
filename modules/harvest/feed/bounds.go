package feed

import (
	"errors"
	"fmt"
)

// Reasons a *RecordError gives for rejecting a record that is well-formed
// but breaks a bound of Options or holds text in no known encoding. Test
// them with errors.Is on the *RecordError; its message says the details
// (which field, how big, the limit, where).
var (
	// ErrTooLarge: a field is longer than Options.MaxFieldBytes or the
	// record longer than Options.MaxRecordBytes.
	ErrTooLarge = errors.New("record too large")
	// ErrTooDeep: the record nests deeper than Options.MaxDepth.
	ErrTooDeep = errors.New("record nested too deeply")
	// ErrInvalidUTF8: the record holds bytes that are not UTF-8 and no
	// encoding was declared (Options.Encoding or the XML declaration).
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
)

// reasonError is the Err of a *RecordError for one of the reasons above: its
// message is free-form and it matches the reason with errors.Is.
type reasonError struct {
	kind error
	msg  string
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.kind }

// reason builds a reasonError of kind.
func reason(kind error, format string, args ...any) error {
	return &reasonError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// fieldTooLarge is the reason for a field of size bytes, over limit, in a
// record of format op; field names it (`field "name"`, "an attribute of…").
func fieldTooLarge(op, field string, size int64, limit int) error {
	return reason(ErrTooLarge, "%s: %s is %d bytes, over the limit of %d (Options.MaxFieldBytes)", op, field, size, limit)
}

// recordTooLarge is the reason for a record of at least size bytes.
func recordTooLarge(op string, size, limit int64) error {
	return reason(ErrTooLarge, "%s: record is %d bytes, over the limit of %d (Options.MaxRecordBytes)", op, size, limit)
}

// tooDeep is the reason for a record nested deeper than limit.
func tooDeep(op, what string, limit int) error {
	return reason(ErrTooDeep, "%s: nested deeper than %d %s (Options.MaxDepth)", op, limit, what)
}

// invalidUTF8 is the reason for a record whose field (a name, or a
// description of where) holds a byte that is not UTF-8 at offset at.
func invalidUTF8(op, field string, at int) error {
	return reason(ErrInvalidUTF8, "%s: %s: invalid UTF-8 at byte %d; set the supplier's encoding", op, field, at)
}
