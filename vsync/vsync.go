// Package vsync reads an environment's secrets at run time, straight from the
// store that `git vsync push` (or the TypeScript vsync tool) publishes to. An
// application needs two secrets and no checkout, config file or keychain:
//
//   - VSYNC_CONFIG: the runtime token, `git vsync export <env> --ci-token`
//     (vsync-cfg-v1:…: store, credentials, salt; a read-only token is enough);
//   - VSYNC_KEY: the env's key (VSYNC_PASSPHRASE is accepted too: the same text).
//
// Each may instead name a file in VSYNC_CONFIG_FILE, VSYNC_KEY_FILE or
// VSYNC_PASSPHRASE_FILE (for mounted secrets).
//
// Open reads the `latest` pointer, downloads that version, authenticates it,
// checks its seal and reads its archive within the limits of the format, all in
// memory: no plaintext is written anywhere. The keys come from the vault's
// `.env.<env>` (parsed as `git vsync run` parses it); the other vault files are
// available through File. Close wipes what was read.
//
// Errors carry the classes of the format's error taxonomy; test them with
// errors.Is: ErrConfigMissing, ErrConfigUnsupportedVersion (the token),
// ErrKeyMissing, ErrWrongPassphrase (wrong key or tampered data),
// ErrBundleCorrupt, ErrUnsupportedSpecVersion (the data), ErrNoVersion (nothing
// pushed), ErrAccessDenied and ErrUnreachable (the store). Messages never
// contain a secret.
package vsync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/dotenv"
	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/published"
	"github.com/git-vsync/git-vsync/internal/store"
)

// Error classes, for errors.Is. The first five are the classes of the conformance
// vectors' taxonomy (SPEC §4.7), shared with the TypeScript tool's libraries.
var (
	// ErrBundleCorrupt: the data is not in the format, is truncated, its seal names
	// another version, or its archive is refused (unsafe names, over the limits).
	ErrBundleCorrupt error = envelope.ErrBundleCorrupt
	// ErrWrongPassphrase: the version does not open with this key (wrong key, key
	// rotated since, or tampered data: indistinguishable by design).
	ErrWrongPassphrase error = envelope.ErrWrongPassphrase
	// ErrUnsupportedSpecVersion: the data uses a format version this package does
	// not read.
	ErrUnsupportedSpecVersion error = envelope.ErrUnsupportedSpecVersion
	// ErrConfigMissing: no runtime token, or a value that is not one.
	ErrConfigMissing error = envelope.ErrConfigMissing
	// ErrConfigUnsupportedVersion: a runtime token of another version or encoding.
	ErrConfigUnsupportedVersion error = envelope.ErrConfigUnsupportedVersion

	// ErrKeyMissing: neither VSYNC_KEY nor VSYNC_PASSPHRASE (nor a _FILE variant).
	ErrKeyMissing = errors.New("vsync: no key: set VSYNC_KEY (or VSYNC_PASSPHRASE, or a _FILE variant)")
	// ErrNoVersion: the env has no published version yet (or not the one asked for).
	ErrNoVersion = errors.New("vsync: no such published version")
	// ErrAccessDenied: the store refused the token's credentials.
	ErrAccessDenied = store.ErrAccessDenied
	// ErrUnreachable: the store could not be reached.
	ErrUnreachable = store.ErrUnreachable
	// ErrClosed: the Secrets were closed.
	ErrClosed = errors.New("vsync: secrets closed")
)

// maxSecretFile bounds what a _FILE variable makes Open read.
const maxSecretFile = 1 << 20

// Option changes how Open and OpenWith read.
type Option func(*options)

type options struct {
	getenv    func(string) string
	lookupEnv func(string) (string, bool)
	version   string
	defaults  map[string]string
}

// WithVersion reads the published version ts (as `git vsync versions` lists
// them) instead of the latest one.
func WithVersion(ts string) Option { return func(o *options) { o.version = ts } }

// WithDefaults gives Source a last resort for keys that neither the vault nor the
// process environment has.
func WithDefaults(defaults map[string]string) Option {
	return func(o *options) {
		o.defaults = make(map[string]string, len(defaults))
		for k, v := range defaults {
			o.defaults[k] = v
		}
	}
}

// WithGetenv replaces os.Getenv, for Open's variables and for Source.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) {
		o.getenv = getenv
		o.lookupEnv = func(k string) (string, bool) { v := getenv(k); return v, v != "" }
	}
}

// Secrets is one published version of an env, held in memory. It is safe for
// concurrent use. Printing it (%v, %+v, %#v) shows the version and the key
// names, never a value.
type Secrets struct{ s *state }

type state struct {
	mu      sync.RWMutex
	closed  bool
	env     string
	layout  store.Layout
	st      store.Store
	version *published.Version
	values  map[string]string
	keys    []string
	o       options
}

// Open reads the secrets named by the process environment: the token from
// VSYNC_CONFIG (or the file VSYNC_CONFIG_FILE names), the key from VSYNC_KEY or
// VSYNC_PASSPHRASE (or their _FILE variants).
func Open(ctx context.Context, opts ...Option) (*Secrets, error) {
	o := collect(opts)
	token, err := lookup(o.getenv, "VSYNC_CONFIG")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, envelope.New(envelope.KindConfigMissing, "VSYNC_CONFIG and VSYNC_CONFIG_FILE are unset")
	}
	key, err := lookup(o.getenv, "VSYNC_KEY")
	if err == nil && key == "" {
		key, err = lookup(o.getenv, "VSYNC_PASSPHRASE")
	}
	if err != nil {
		return nil, err
	}
	return OpenWith(ctx, token, key, opts...)
}

// OpenWith reads the secrets that the runtime token (vsync-cfg-v1:…) and the key
// give access to.
func OpenWith(ctx context.Context, token, key string, opts ...Option) (*Secrets, error) {
	o := collect(opts)
	t, err := cfgtoken.Decode(token)
	if err != nil {
		return nil, fmt.Errorf("vsync: runtime token: %w", err)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, ErrKeyMissing
	}
	env, err := tokenEnv(t)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(store.Config{Endpoint: t.Endpoint, Region: t.Region, Bucket: t.Bucket,
		AccessKeyID: t.AccessKeyID, SecretAccessKey: t.SecretAccessKey})
	if err != nil {
		return nil, fmt.Errorf("vsync: runtime token names an unusable store: %w", err)
	}
	s := &state{env: env, layout: store.Layout{Prefix: t.Prefix}, st: st, o: o}
	ts := o.version
	if ts == "" {
		if ts, _, err = published.Latest(ctx, st, s.layout); err != nil {
			return nil, s.wrap(err)
		}
	}
	// The format fixes the KDF (SPEC §4.1); kdf.Key ignores the token's count.
	aesKey, err := kdf.Key(key, t.Salt)
	if err != nil {
		return nil, fmt.Errorf("vsync: derive the key: %w", err)
	}
	defer clear(aesKey)
	v, err := published.Fetch(ctx, st, s.layout, aesKey, ts)
	if err != nil {
		return nil, s.wrap(err)
	}
	s.version = v
	if data, ok := v.File(".env." + env); ok {
		entries, err := dotenv.Parse(data)
		if err != nil {
			v.Wipe()
			// The parser's errors name a line, never a value.
			return nil, fmt.Errorf("vsync: .env.%s of version %s: %w", env, ts, err)
		}
		s.values = dotenv.Map(entries)
		s.keys = dotenv.Keys(entries)
	}
	return &Secrets{s: s}, nil
}

// tokenEnv returns the env a token is for, from its env field or its prefix
// "<repo>/<env>/", and checks that the two agree.
func tokenEnv(t cfgtoken.Token) (string, error) {
	parts := strings.Split(t.Prefix, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] != "" {
		return "", envelope.Errorf(envelope.KindConfigMissing, "the runtime token's prefix is not <repo>/<env>/")
	}
	if t.Env != "" && t.Env != parts[1] {
		return "", envelope.Errorf(envelope.KindConfigMissing, "the runtime token's env %q disagrees with its prefix", t.Env)
	}
	return parts[1], nil
}

// wrap adds the env to store errors and maps a missing version to ErrNoVersion.
func (s *state) wrap(err error) error {
	if errors.Is(err, published.ErrNoVersion) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w of %s (%s): %w", ErrNoVersion, s.env, s.st, err)
	}
	return fmt.Errorf("vsync: %s: %w", s.env, err)
}

func collect(opts []Option) options {
	o := options{getenv: os.Getenv, lookupEnv: os.LookupEnv}
	for _, f := range opts {
		f(&o)
	}
	if o.getenv == nil {
		o.getenv, o.lookupEnv = os.Getenv, os.LookupEnv
	}
	return o
}

// lookup returns the value of name, else the content of the file name_FILE
// names (a regular file of at most 1 MiB, surrounding blanks trimmed). Unlike
// atomicfile.ReadRegular it follows a symbolic link: mounted secrets (Kubernetes,
// Docker) are links to the real file.
func lookup(getenv func(string) string, name string) (string, error) {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v, nil
	}
	path := strings.TrimSpace(getenv(name + "_FILE"))
	if path == "" {
		return "", nil
	}
	// A FIFO or device is refused before it is opened (opening a FIFO waits for
	// a writer).
	b, err := atomicfile.ReadRegularFollow(path, maxSecretFile)
	defer clear(b)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return "", fmt.Errorf("vsync: %s_FILE: %s is larger than %d bytes", name, path, maxSecretFile)
	}
	if err != nil {
		return "", fmt.Errorf("vsync: %s_FILE: %w", name, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("vsync: %s_FILE: %s is empty", name, path)
	}
	return v, nil
}

// Get returns the value of key in the vault's .env.<env>.
func (x *Secrets) Get(key string) (string, bool) {
	s := x.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return "", false
	}
	v, ok := s.values[key]
	return v, ok
}

// Source returns the value of key from the vault, else from the process
// environment, else from WithDefaults.
func (x *Secrets) Source(key string) (string, bool) {
	if v, ok := x.Get(key); ok {
		return v, true
	}
	if v, ok := x.s.o.lookupEnv(key); ok {
		return v, true
	}
	v, ok := x.s.o.defaults[key]
	return v, ok
}

// File returns a copy of the vault file name (a path relative to the vault
// folder, slash-separated, e.g. "tls/server.key"). A missing file is
// fs.ErrNotExist.
func (x *Secrets) File(name string) ([]byte, error) {
	s := x.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	data, ok := s.version.File(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), data...), nil
}

// Keys returns the key names of the vault's .env.<env>, sorted.
func (x *Secrets) Keys() []string {
	s := x.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return append([]string(nil), s.keys...)
}

// Env is the environment the token is for.
func (x *Secrets) Env() string { return x.s.env }

// Version is the timestamp of the version read (YYYYMMDD-HHMMSS, UTC).
func (x *Secrets) Version() string {
	s := x.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.version == nil {
		return ""
	}
	return s.version.TS
}

// Changed reports whether the store's latest version differs from the one read,
// with one small request: a health check can call it to know that a restart
// would pick up new secrets.
func (x *Secrets) Changed(ctx context.Context) (bool, error) {
	s := x.s
	ts, _, err := published.Latest(ctx, s.st, s.layout)
	if err != nil {
		return false, s.wrap(err)
	}
	return ts != x.Version(), nil
}

// Close wipes the values and files from memory. Get and File fail afterwards.
// Strings handed out by Get stay with their holders.
func (x *Secrets) Close() error {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.version != nil {
		s.version.Wipe()
	}
	// Go strings cannot be overwritten; dropping the map is what can be done.
	clear(s.values)
	s.values = nil
	return nil
}

// String names the env, the version and the keys; values are never shown.
func (x Secrets) String() string {
	if x.s == nil {
		return "vsync.Secrets{}"
	}
	s := x.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	var b strings.Builder
	fmt.Fprintf(&b, "vsync.Secrets{env: %s, version: %s", s.env, s.version.TS)
	if s.closed {
		b.WriteString(", closed")
	}
	keys := append([]string(nil), s.keys...)
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ", %s: <redacted>", k)
	}
	fmt.Fprintf(&b, ", files: %d}", len(s.version.Files))
	return b.String()
}

// GoString redacts like String, for %#v.
func (x Secrets) GoString() string { return x.String() }
