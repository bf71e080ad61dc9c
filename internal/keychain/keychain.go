// Package keychain holds the key half of a (repo, env) (SPEC §1.3): the 44-character
// base64 key stored in the operating system's keychain under service "tools.vsync" and
// account "<repo>/<env>", or supplied by the environment (VSYNC_KEY_<ENV>, VSYNC_KEY,
// VSYNC_KEY_FILE) on headless machines and in CI.
//
// Backends, chosen at build time by Native:
//   - Linux and the BSDs: the Secret Service D-Bus API (gnome-keyring, KeePassXC, …),
//     spoken directly over the session bus; a bus is never auto-launched.
//   - macOS with cgo: the login Keychain (generic password).
//   - macOS without cgo: none; every call fails with an error that says so.
//   - Windows: Credential Manager (generic credential).
//
// Every call is bounded by a timeout (DefaultTimeout, VSYNC_KEYCHAIN_TIMEOUT, or
// WithTimeout), and every failure is a *fail.Error that names the backend and the fix.
// Key values never appear in errors.
package keychain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// Service is the keychain service name shared with the TypeScript tool.
const Service = "tools.vsync"

// Account is the keychain account of one (repo, env): "<repo>/<env>".
func Account(repo, env string) string { return repo + "/" + env }

// Keychain stores one secret per account under Service.
//
// Get of an absent entry returns an error matching errors.Is(err, ErrNotFound); so
// does Delete of an absent entry (callers that want an idempotent delete ignore it).
// A backend that cannot be reached (no session bus, locked keyring, no answer within
// the timeout, a build without keychain support) returns an error matching
// errors.Is(err, ErrUnavailable). All errors are *fail.Error values.
type Keychain interface {
	Get(ctx context.Context, account string) (string, error)
	Set(ctx context.Context, account, secret string) error
	Delete(ctx context.Context, account string) error
	// Name names the backend for humans, e.g. "Secret Service (D-Bus)".
	Name() string
}

var (
	// ErrNotFound matches the error of Get or Delete when the entry does not exist.
	ErrNotFound = errors.New("keychain entry not found")
	// ErrUnavailable matches errors that mean the keychain could not be used at all.
	ErrUnavailable = errors.New("keychain unavailable")
)

// DefaultTimeout bounds every keychain call unless VSYNC_KEYCHAIN_TIMEOUT or
// WithTimeout says otherwise.
const DefaultTimeout = 5 * time.Second

// TimeoutEnv names the environment variable that overrides DefaultTimeout: a Go
// duration ("3s", "1m") or a number of seconds ("10").
const TimeoutEnv = "VSYNC_KEYCHAIN_TIMEOUT"

type timeoutKey struct{}

// WithTimeout returns a context that sets the per-call keychain timeout to d, overriding
// VSYNC_KEYCHAIN_TIMEOUT and DefaultTimeout. An earlier deadline of ctx still wins.
func WithTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, timeoutKey{}, d)
}

// Timeout returns the per-call timeout that applies to calls made with ctx.
func Timeout(ctx context.Context) (time.Duration, error) {
	if d, ok := ctx.Value(timeoutKey{}).(time.Duration); ok && d > 0 {
		return d, nil
	}
	return parseTimeout(os.Getenv(TimeoutEnv))
}

func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil || n > 86400 {
			return 0, fail.New(fail.Usage, "set it to a duration such as 3s or 1m, or unset it",
				"%s=%q is not a duration", TimeoutEnv, s)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d <= 0 {
		return 0, fail.New(fail.Usage, "set it to a positive duration such as 3s, or unset it",
			"%s=%q must be positive", TimeoutEnv, s)
	}
	return d, nil
}

// backend describes a keychain for the shared error helpers.
type backend struct {
	name string // "Secret Service (D-Bus)"
	// stuck is the hint given when the backend does not answer in time.
	stuck string
}

// bounded runs op under the per-call timeout. When the timeout (or the caller's
// deadline) passes first, it returns at once with an error naming the backend; op keeps
// running in the background until it notices its context is done.
func bounded(ctx context.Context, b backend, op func(ctx context.Context) error) error {
	d, err := Timeout(ctx)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return b.expired(err, d)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil {
			// The failure was caused by the deadline closing the connection.
			return b.expired(ctx.Err(), d)
		}
		return err
	case <-ctx.Done():
		return b.expired(ctx.Err(), d)
	}
}

func (b backend) expired(cause error, d time.Duration) error {
	if errors.Is(cause, context.Canceled) {
		return &fail.Error{Code: fail.Failure, What: "the " + b.name + " call was cancelled",
			Hint: "the command was interrupted before the key was read; run it again", Err: cause}
	}
	return &fail.Error{
		Code: fail.NotSetUp,
		What: fmt.Sprintf("the %s did not answer within %s", b.name, d),
		Hint: b.stuck + "; or allow more time with " + TimeoutEnv + "=30s; or give the key as VSYNC_KEY",
		Err:  fmt.Errorf("%w: %w", ErrUnavailable, cause),
	}
}

func (b backend) notFound(account string) error { return NotFound(b.name, account) }

// NotFound is the error of a Get or Delete of an absent entry in the keychain named
// backendName (exit 4, matching ErrNotFound), for every backend alike.
func NotFound(backendName, account string) error {
	return &fail.Error{
		Code: fail.NotSetUp,
		What: fmt.Sprintf("no key for %s in the %s", account, backendName),
		Hint: "import it with `git vsync import <env> <file.share>` (or create one with `git vsync init <env>`), or set VSYNC_KEY",
		Err:  ErrNotFound,
	}
}

// unavailable is an error that means the backend cannot be used; cause may be nil.
func (b backend) unavailable(cause error, hint, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var err error = ErrUnavailable
	if cause != nil {
		what += ": " + cause.Error()
		err = fmt.Errorf("%w: %w", ErrUnavailable, cause)
	}
	return &fail.Error{Code: fail.NotSetUp, What: what, Hint: hint, Err: err}
}

// failed is an unexpected error of a backend that otherwise works.
func (b backend) failed(cause error, format string, args ...any) error {
	return fail.Wrap(fail.Failure, cause, "retry; if it persists, give the key as VSYNC_KEY instead",
		format, args...)
}
