// Package fail carries the exit codes and the two-line error messages of SPEC §9
// from wherever a failure is detected up to the CLI, which only prints them.
package fail

import (
	"errors"
	"fmt"
)

// Code is a process exit code with the meaning SPEC §9 gives it.
type Code int

const (
	OK          Code = 0 // success
	Failure     Code = 1 // anything not listed below
	Usage       Code = 2 // bad flags or arguments
	Refused     Code = 3 // refused to protect data: dirty vault, remote advanced, rollback, foreign hook
	NotSetUp    Code = 4 // no config, no key, no identity
	Unreachable Code = 5 // store unreachable or access denied
	Integrity   Code = 6 // wrong key or passphrase, corrupt or tampered data
)

// Error is a failure the user can act on: what went wrong and the next command to run.
// Neither field may ever hold a secret value.
type Error struct {
	Code Code
	What string
	Hint string
	Err  error // the cause, for errors.Is/As; never printed on its own
}

func (e *Error) Error() string {
	if e.Err != nil && e.What == "" {
		return e.Err.Error()
	}
	return e.What
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error without an underlying cause.
func New(code Code, hint, format string, args ...any) *Error {
	return &Error{Code: code, What: fmt.Sprintf(format, args...), Hint: hint}
}

// Wrap returns an Error whose message is what, followed by the cause's message.
func Wrap(code Code, err error, hint, format string, args ...any) *Error {
	what := fmt.Sprintf(format, args...)
	if err != nil {
		what += ": " + err.Error()
	}
	return &Error{Code: code, What: what, Hint: hint, Err: err}
}

// CodeOf returns the exit code for err: 0 for nil, the Code of the first *Error in
// the chain, or Failure.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return Failure
}

// HintOf returns the hint of the first *Error in the chain that has one.
func HintOf(err error) string {
	for err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			return ""
		}
		if fe.Hint != "" {
			return fe.Hint
		}
		err = fe.Err
	}
	return ""
}
