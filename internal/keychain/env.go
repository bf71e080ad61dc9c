package keychain

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"os"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// Where a key came from, as Resolver.Lookup reports it.
const (
	SourceEnv      = "env"
	SourceKeychain = "keychain"
)

// Environment variables that carry a key (SPEC §1.3).
const (
	KeyEnv     = "VSYNC_KEY"
	KeyFileEnv = "VSYNC_KEY_FILE"
)

// maxKeyFile bounds what VSYNC_KEY_FILE may make us read.
const maxKeyFile = 64 << 10

// EnvVar is the per-env variable name: VSYNC_KEY_<ENV>, env upper-cased, '-' → '_'.
func EnvVar(env string) string {
	return KeyEnv + "_" + strings.ReplaceAll(strings.ToUpper(env), "-", "_")
}

// FromEnv looks for the key of env in the environment, in this order:
// VSYNC_KEY_<ENV>, VSYNC_KEY, then the file named by VSYNC_KEY_FILE. A variable that is
// empty (or only blanks) counts as unset. source is the name of the variable the key
// came from. ok is false, with a nil error, when none is set. The key is trimmed of
// surrounding white space (a key never contains any). An unreadable or empty key file
// is an error that names the path, never the content.
//
// For env "file" the per-env name would be VSYNC_KEY_FILE, which already means a path;
// that env therefore has no per-env variable.
func FromEnv(env string, getenv func(string) string) (key, source string, ok bool, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	names := []string{KeyEnv}
	if per := EnvVar(env); env != "" && per != KeyFileEnv {
		names = []string{per, KeyEnv}
	}
	for _, name := range names {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v, name, true, nil
		}
	}
	path := getenv(KeyFileEnv)
	if strings.TrimSpace(path) == "" {
		return "", "", false, nil
	}
	key, err = readKeyFile(path)
	if err != nil {
		return "", "", false, err
	}
	return key, KeyFileEnv, true, nil
}

func readKeyFile(path string) (string, error) {
	hint := "point " + KeyFileEnv + " at a readable file that holds the key, or unset it"
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return "", fail.New(fail.NotSetUp, hint, "the key file %q (%s) is a folder", path, KeyFileEnv)
	}
	b, err := atomicfile.ReadRegularFollow(path, maxKeyFile)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return "", fail.New(fail.NotSetUp, hint, "the key file %q (%s) is too large to hold a key", path, KeyFileEnv)
	}
	if err != nil {
		return "", fail.Wrap(fail.NotSetUp, pathCause(err), hint, "cannot read the key file %q (%s)", path, KeyFileEnv)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fail.New(fail.NotSetUp, hint, "the key file %q (%s) is empty", path, KeyFileEnv)
	}
	return key, nil
}

// pathCause strips the path from an *os.PathError, which the message names already.
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Resolver finds the key of a (repo, env): the environment first (FromEnv), then the
// keychain. A nil Getenv means os.Getenv; a nil Chain means no keychain.
type Resolver struct {
	Chain  Keychain
	Getenv func(string) string
}

// Lookup returns the key of (repo, env) and its source, SourceEnv or SourceKeychain.
// Keys from either source are trimmed of surrounding white space. When neither has
// it, the error matches ErrNotFound and says where it looked; keychain failures
// (ErrUnavailable) are returned as the keychain reported them.
func (r Resolver) Lookup(ctx context.Context, repo, env string) (key, source string, err error) {
	key, name, ok, err := FromEnv(env, r.Getenv)
	if err != nil {
		return "", "", err
	}
	if ok {
		// A key in the environment is typed or pasted by hand; one of the wrong
		// shape (quotes, a passphrase, a truncated paste) would derive a key the
		// team cannot open, so it never reaches a command. Only its length is told.
		if !ValidKey(key) {
			return "", "", fail.New(fail.NotSetUp,
				"set "+name+" to the env's key: 44 characters of base64 as `git vsync export "+env+"` shares it (or unset it to use the keychain)",
				"%s does not hold a key: %d characters, want %d characters of base64 encoding 32 bytes", name, len(key), KeyLen)
		}
		return key, SourceEnv, nil
	}
	account := Account(repo, env)
	envNames := EnvVar(env) + ", " + KeyEnv + " or " + KeyFileEnv
	hint := fmt.Sprintf("import the key with `git vsync import %s <file.share>`, or set %s", env, EnvVar(env))
	if r.Chain == nil {
		return "", "", &fail.Error{Code: fail.NotSetUp,
			What: fmt.Sprintf("no key for %s: none of %s is set", account, envNames),
			Hint: hint, Err: ErrNotFound}
	}
	key, err = r.Chain.Get(ctx, account)
	if err == nil {
		// `echo KEY | secret-tool store …` keeps the newline; a key never holds white space.
		if key = strings.TrimSpace(key); key == "" {
			return "", "", &fail.Error{Code: fail.NotSetUp,
				What: fmt.Sprintf("the %s entry of %s is empty", r.Chain.Name(), account),
				Hint: hint, Err: ErrNotFound}
		}
		return key, SourceKeychain, nil
	}
	if errors.Is(err, ErrNotFound) {
		return "", "", &fail.Error{Code: fail.NotSetUp,
			What: fmt.Sprintf("no key for %s: not in the %s, and none of %s is set", account, r.Chain.Name(), envNames),
			Hint: hint, Err: err}
	}
	return "", "", err
}

// KeyLen is the length of a key as text: 32 bytes in standard base64 with padding.
const KeyLen = 44

// ValidKey reports whether s looks like a key this tool makes: 44 characters of
// standard base64 (with padding) of 32 bytes. Keys are used as text, so a key that
// fails this check still works; callers only warn.
func ValidKey(s string) bool {
	if len(s) != KeyLen {
		return false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

// NewKey returns a fresh key: 32 random bytes in standard base64 with padding.
func NewKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fail.Wrap(fail.Failure, err, fail.HintSystem, "cannot make a random key")
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}
