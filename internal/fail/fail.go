// Package fail carries the exit codes and the two-line error messages of SPEC §9
// from wherever a failure is detected up to the CLI, which only prints them.
package fail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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

// Hints for failures of this machine rather than of the user's data or setup.
// A cause's own hint wins over them (HintOf), so a wrapper may always pass one.
const (
	// HintLocal: reading or writing a local file or folder failed.
	HintLocal = "check the free disk space and the permissions of the folder named above, then run the command again"
	// HintSystem: the system refused a resource (random numbers, memory, a process).
	HintSystem = "the system refused a resource it normally always gives (random numbers, memory, a process); run the command again, and report it if it persists"
	// HintBug: a state the code rules out was reached.
	HintBug = "this is a bug in git-vsync: please report it with the command you ran"
	// HintUnknown: an error that carries no hint reached the user.
	HintUnknown = "run `git vsync doctor` to check this machine's setup and stores, then the command again with -v to see each step"
)

func isGeneric(h string) bool {
	return h == HintLocal || h == HintSystem || h == HintBug || h == HintUnknown
}

// HintFor is the hint printed for err: HintOf, or for an error that carries none
// (a plain error from a library) HintLocal when it is about a file, else HintUnknown.
// So every error the user sees comes with a next step.
func HintFor(err error) string {
	if h := HintOf(err); h != "" {
		return h
	}
	var pe *fs.PathError
	var le *os.LinkError
	if errors.As(err, &pe) || errors.As(err, &le) {
		return HintLocal
	}
	return HintUnknown
}

// HintOf returns the hint for err: the first hint in the chain of *Errors that is
// not a generic one (HintLocal, HintSystem, HintBug), else the first generic one, else "".
func HintOf(err error) string {
	generic := ""
	for err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			break
		}
		if fe.Hint != "" && !isGeneric(fe.Hint) {
			return fe.Hint
		}
		if generic == "" {
			generic = fe.Hint
		}
		err = fe.Err
	}
	return generic
}
