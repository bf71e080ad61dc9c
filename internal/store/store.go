// Package store is the bucket of SPEC §5: a flat key → bytes space with
// conditional writes, backed either by an S3-compatible service or by a folder
// on disk (the "file store" of SPEC §1.1).
//
// Every error returned by a Store is an *Error that wraps one of the sentinels
// below when the failure has a meaning callers act on (errors.Is), and never
// contains credentials.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// Cond makes a Put conditional. The zero value writes unconditionally.
type Cond struct {
	// IfNoneMatch: create the object only if the key does not exist yet.
	IfNoneMatch bool
	// IfMatch: replace the object only if its current ETag equals this one.
	// Quoted or unquoted forms are both accepted. A missing object fails the
	// condition (ErrPreconditionFailed).
	IfMatch string
}

// Info describes one object of a List.
type Info struct {
	Key      string
	Size     int64
	Modified time.Time
	// ETag is the quoted entity tag when the backend gives it cheaply in a
	// listing. The file store leaves it empty (it would have to hash every
	// object); use Get for an authoritative ETag.
	ETag string
}

// Store is one bucket.
type Store interface {
	// Get returns the whole object and its quoted ETag; ErrNotFound if absent.
	Get(ctx context.Context, key string) (body []byte, etag string, err error)
	// Put writes the object and returns its new quoted ETag. A failed
	// condition returns ErrPreconditionFailed and leaves the object untouched.
	Put(ctx context.Context, key string, body []byte, c Cond) (etag string, err error)
	// PutFile is Put with the body read from body's first size bytes, for bodies
	// too large to hold in memory (a bundle in a temp file). The body is read
	// from its start again when the request is retried, so it must not change
	// until PutFile returns. Conditions, ETags and errors are exactly Put's.
	PutFile(ctx context.Context, key string, body io.ReaderAt, size int64, c Cond) (etag string, err error)
	// PutStream is PutFile for a body still being written (a bundle uploads
	// while it is sealed): what is ready is sent while the rest is written, and
	// the object appears at key only once the whole body is there — on S3 a
	// multipart upload completed at the end, aborted on any failure; on the file
	// store a temp file renamed into place. It returns the ETag and the final
	// size. A failure of the body's writer is returned wrapped (errors.Is).
	// Conditions, ETags and errors are otherwise Put's.
	PutStream(ctx context.Context, key string, body StreamBody, c Cond) (etag string, size int64, err error)
	// GetTo streams the object into w and returns its quoted ETag and length;
	// ErrNotFound if absent (then nothing was written to w). After any other
	// error, w may hold part of the object and must be discarded. When w is an
	// ETagUnused, the ETag may be "".
	GetTo(ctx context.Context, key string, w io.Writer) (etag string, n int64, err error)
	// Delete removes the object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns every object whose key starts with prefix, sorted by key
	// (byte order). Keys ending in "/" (folder markers) are left out.
	List(ctx context.Context, prefix string) ([]Info, error)
	// String names the store for messages, never with credentials:
	// "s3://bucket @ https://endpoint" or "file:///dir/bucket".
	String() string
}

// ETagUnused marks a writer given to GetTo whose caller ignores the ETag (a
// pull's download of a version: versions are never replaced). The file store
// then does not hash the object for it (~50 ms of CPU for 100 MB).
type ETagUnused interface{ ETagUnused() }

// Sentinels wrapped by store errors; test them with errors.Is.
var (
	ErrNotFound           = errors.New("not found")
	ErrPreconditionFailed = errors.New("precondition failed: the object changed (someone else wrote first)")
	ErrUnreachable        = errors.New("store unreachable")
	ErrAccessDenied       = errors.New("access denied")
	// ErrNoSuchBucket: the bucket does not exist (S3 NoSuchBucket). Kept apart
	// from ErrNotFound so that a wrong bucket name never reads as "nothing was
	// pushed yet".
	ErrNoSuchBucket = errors.New("bucket does not exist")
)

// Config says where a bucket is. It mirrors the "s3" object of the disk config.
type Config struct {
	Endpoint        string // "https://host[:port]", "host[:port]", "file:///abs/dir"
	Region          string // default us-east-1
	Bucket          string
	AccessKeyID     string
	SecretAccessKey string
	UseSSL          *bool // only used when Endpoint has no scheme; nil = true
	// ConnectTimeout bounds the TCP connect to an S3 endpoint, ResponseTimeout
	// the wait for the answer's headers once the request is sent and every
	// silence of a transfer's body (watchdog.go); 0 = defaults.
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration
}

// Open returns the store the config names: a file store for a file:// endpoint,
// an S3 client otherwise. Open does no network or disk I/O beyond parsing.
// Clients.Open is the same with S3 clients shared between stores.
func Open(c Config) (Store, error) { return (*Clients)(nil).Open(c) }

// Error is the error type of every Store method.
type Error struct {
	Op    string // get, put, delete, list, open
	Store string // Store.String()
	Key   string // key or prefix, may be empty
	Kind  error  // one of the sentinels, or nil
	Err   error  // the cause, already free of credentials; may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Store != "" {
		b.WriteString(" ")
		b.WriteString(e.Store)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, " %q", e.Key)
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the sentinel and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// scrubbed carries a cause whose message had secrets removed; errors.Is/As
// still reach the original.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// scrub replaces every non-empty secret in err's message with "***".
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "***")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

const (
	hintUnreachable = "check the endpoint and your network, then run `git vsync doctor`, which checks the store"
	hintDenied      = "check the credentials: `git vsync config <env> show`, change them with `git vsync config <env> set` (a config without keys uses the AWS chain: AWS_ACCESS_KEY_ID, AWS_PROFILE …), then run `git vsync doctor`, which checks the store"
	hintNoBucket    = "check the bucket name of this env's config (the bucket must exist), then run `git vsync doctor`, which checks the store"
	hintStalled     = "run the command again; " + hintSlowStore
	hintSlowStore   = "a store that is only slow needs a longer wait: VSYNC_STORE_TIMEOUT=2m (default 30s)"
	hintOther       = "run `git vsync doctor`, which checks the store, then try again"
)

// kindCodes is the one map from a store error's kind to its exit code and hint.
// A kind not listed (not found, precondition failed, too large) is a Failure
// here: the use case that meets it knows better and says so before AsFail.
var kindCodes = []struct {
	kind error
	code fail.Code
	hint string
}{
	{ErrStalled, fail.Unreachable, hintStalled}, // before ErrUnreachable, which it also is
	{ErrUnreachable, fail.Unreachable, hintUnreachable},
	{ErrAccessDenied, fail.Unreachable, hintDenied},
	{ErrNoSuchBucket, fail.Unreachable, hintNoBucket},
}

// Code is the SPEC §9 exit code of the error's kind (kindCodes).
func (e *Error) Code() fail.Code { c, _ := codeOf(e); return c }

// Hint is the next step for the error's kind (kindCodes).
func (e *Error) Hint() string { _, h := codeOf(e); return h }

func codeOf(err error) (fail.Code, string) {
	for _, k := range kindCodes {
		if errors.Is(err, k.kind) {
			return k.code, k.hint
		}
	}
	return fail.Failure, hintOther
}

// AsFail turns a store error into a user-facing fail.Error with the code and
// hint of its kind (kindCodes): exit code 5 (Unreachable) for an unreachable
// store, denied access or a missing bucket, 1 (Failure) otherwise. what says
// what was being done, e.g. "read the latest version". A nil err stays nil; a
// *fail.Error is returned unchanged.
func AsFail(err error, what string) error {
	if err == nil {
		return nil
	}
	var fe *fail.Error
	if errors.As(err, &fe) {
		return err
	}
	code, hint := codeOf(err)
	return fail.Wrap(code, err, hint, "%s", what)
}

// AsFailAgain is AsFail for a step of command again (e.g. "git vsync push
// dev"), which the user can simply run again: the hint of a stalled transfer
// names it.
func AsFailAgain(err error, again, what string) error {
	var fe *fail.Error
	if err == nil || errors.As(err, &fe) || !errors.Is(err, ErrStalled) {
		return AsFail(err, what)
	}
	return fail.Wrap(fail.Unreachable, err, "run `"+again+"` again; "+hintSlowStore, "%s", what)
}

// ErrConditionalIgnored is returned by ProbeConditional when the store
// accepted a write that its precondition should have refused.
var ErrConditionalIgnored = errors.New("the store ignores conditional writes (If-None-Match / If-Match): concurrent pushes could overwrite each other")

// ProbeConditional checks for real 412 behaviour (SPEC §5.2, for doctor and
// init): under key it creates an object with IfNoneMatch, tries to create it
// again, replaces it with a stale IfMatch, then with the right one, on S3
// tries to create it again by a multipart upload (aborted), and deletes it. It returns nil when every condition was honoured,
// ErrConditionalIgnored when one was not, or the store error that stopped it.
func ProbeConditional(ctx context.Context, s Store, key string) (err error) {
	_ = s.Delete(ctx, key)
	defer func() {
		if derr := s.Delete(ctx, key); err == nil && derr != nil {
			err = derr
		}
	}()
	e1, err := s.Put(ctx, key, []byte("probe 1"), Cond{IfNoneMatch: true})
	if err != nil {
		return err
	}
	if _, err := s.Put(ctx, key, []byte("probe 2"), Cond{IfNoneMatch: true}); err == nil {
		return fmt.Errorf("%w (If-None-Match: * was ignored)", ErrConditionalIgnored)
	} else if !errors.Is(err, ErrPreconditionFailed) {
		return err
	}
	e3, err := s.Put(ctx, key, []byte("probe 3"), Cond{IfMatch: e1})
	if err != nil {
		return err
	}
	if _, err := s.Put(ctx, key, []byte("probe 4"), Cond{IfMatch: e1}); err == nil {
		return fmt.Errorf("%w (a stale If-Match was ignored)", ErrConditionalIgnored)
	} else if !errors.Is(err, ErrPreconditionFailed) {
		return err
	}
	body, e, err := GetLimited(ctx, s, key, 64)
	if err != nil {
		return err
	}
	if string(body) != "probe 3" || e != e3 {
		return fmt.Errorf("%w (the object holds %q after a refused write)", ErrConditionalIgnored, body)
	}
	if mp, ok := s.(multipartProber); ok {
		// Large bundles are created by CompleteMultipartUpload: it must refuse
		// an existing key as PutObject does.
		return mp.probeMultipart(ctx, key)
	}
	return nil
}

// multipartProber is a store whose large puts are multipart uploads.
type multipartProber interface {
	// probeMultipart completes a multipart upload with If-None-Match over the
	// existing object at key: nil when refused, ErrConditionalIgnored when not.
	probeMultipart(ctx context.Context, key string) error
}

// quoteETag returns the ETag in its quoted form, the form every Store returns.
func quoteETag(e string) string {
	e = strings.TrimSpace(e)
	if e == "" {
		return ""
	}
	if strings.HasPrefix(e, "W/") {
		return e
	}
	if len(e) >= 2 && e[0] == '"' && e[len(e)-1] == '"' {
		return e
	}
	return `"` + strings.Trim(e, `"`) + `"`
}

// unquoteETag strips the quotes of an ETag.
func unquoteETag(e string) string {
	return strings.Trim(strings.TrimSpace(e), `"`)
}

// maxPrealloc is the most readAllSized allocates from an announced length.
const maxPrealloc = 512 << 20

// readAllSized reads r to the end into one allocation of size bytes when the
// size is known (no doubling growth for big bundles) and fails with
// io.ErrUnexpectedEOF when r ends early or holds more than announced.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	// Allocated up front only for a length a bundle can have: a hostile server
	// announcing a terabyte would otherwise end the process (out of memory)
	// before a byte arrived. Past that, memory grows only with what arrives.
	if size <= 0 || size > maxPrealloc {
		return io.ReadAll(r)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	var one [1]byte
	if n, _ := r.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("object longer than its announced %d bytes: %w", size, io.ErrUnexpectedEOF)
	}
	return buf, nil
}

func checkCond(c Cond) error {
	if c.IfNoneMatch && c.IfMatch != "" {
		return errors.New("IfNoneMatch and IfMatch cannot be combined")
	}
	return nil
}
