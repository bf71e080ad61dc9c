// Package config reads and writes the disk half of a (repo, env) (SPEC §1.1) and the
// reusable bucket profiles (SPEC §1.2). Unknown keys written by other tools or newer
// versions survive a read-modify-write unchanged.
package config

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/gitname"
	"github.com/git-vsync/git-vsync/internal/repo"
)

// MaxBytes bounds a config or profile file, and what a token inflates to, so a
// hostile file cannot exhaust memory.
const MaxBytes = 1 << 20

// S3 is where the bundles are.
type S3 struct {
	Endpoint        string
	Region          string
	Bucket          string
	AccessKeyID     string
	SecretAccessKey string
	UseSSL          *bool
}

// SSL is the useSsl value to write: the stored one when there is one, else derived
// from the endpoint's scheme (http:// → false; https://, file:// or none → true).
func (s S3) SSL() bool {
	if s.UseSSL != nil {
		return *s.UseSSL
	}
	scheme, _, ok := strings.Cut(s.Endpoint, "://")
	return !ok || !strings.EqualFold(scheme, "http")
}

// File is one (repo, env) config file.
type File struct {
	S3           S3
	Salt         string
	VaultFolder  string          // repo-relative, slash-separated; "" = infra/vault/<env>
	Sync         json.RawMessage // fan-out routing, kept verbatim
	AuditEnabled *bool           // nil = enabled
	InitProfile  string
	Prefix       string
	// PreviousKeys are the keys this machine used before a rotate (or a forced
	// import), newest first: "previousKeys" in the file, a key the TypeScript tool
	// does not know and keeps. The key texts stay in the keychain under
	// "<repo>/<env>#<fingerprint>"; only their fingerprint and salt are here.
	// (share/rotate issue)
	PreviousKeys []PreviousKey

	raw map[string]json.RawMessage // the whole document as read, for unknown keys
}

// PreviousKey names an older key of an env and the salt it was used with.
type PreviousKey struct {
	Fingerprint string `json:"fingerprint"`
	Salt        string `json:"salt"`
}

// validFingerprint: 8 lower-case hex digits (sls1.Fingerprint).
func validFingerprint(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ErrNotFound is returned by Load when the file does not exist.
var ErrNotFound = errors.New("config not found")

// Audit reports whether audit rows are written (absent → true).
func (e *File) Audit() bool { return e.AuditEnabled == nil || *e.AuditEnabled }

// Vault returns the repo-relative vault folder of env.
func (e *File) Vault(env string) string {
	if e.VaultFolder != "" {
		return e.VaultFolder
	}
	return repo.DefaultVaultFolder(env)
}

// NewSalt returns a fresh salt: 18 random bytes, standard base64 without padding.
func NewSalt() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(b), nil
}

// Parse decodes the bytes of a config file (gzip of JSON).
func Parse(data []byte) (*File, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	js, err := io.ReadAll(io.LimitReader(zr, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if len(js) > MaxBytes {
		return nil, fmt.Errorf("larger than %d bytes when inflated", MaxBytes)
	}
	return ParseJSON(js)
}

// ParseJSON decodes and validates the JSON object of a config (also the `config`
// member of a .share payload).
func ParseJSON(js []byte) (*File, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	var doc struct {
		Version json.RawMessage `json:"version"`
		S3      *struct {
			Endpoint        string `json:"endpoint"`
			Region          string `json:"region"`
			Bucket          string `json:"bucket"`
			AccessKeyID     string `json:"accessKeyId"`
			SecretAccessKey string `json:"secretAccessKey"`
			UseSSL          *bool  `json:"useSsl"`
		} `json:"s3"`
		Encryption *struct {
			Salt string `json:"salt"`
		} `json:"encryption"`
		Files *struct {
			VaultFolder string `json:"vaultFolder"`
		} `json:"files"`
		Audit *struct {
			Enabled *bool `json:"enabled"`
		} `json:"audit"`
		InitProfile string `json:"initProfile"`
		Prefix      string `json:"prefix"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("unexpected field type: %v", err)
	}
	// Exactly the number 1: not "1", not 1.0.
	if string(doc.Version) != "1" {
		v := "missing"
		if doc.Version != nil {
			v = string(doc.Version)
			if len(v) > 20 {
				v = v[:20] + "…"
			}
		}
		return nil, &VersionError{Version: v}
	}
	if doc.S3 == nil || doc.S3.Bucket == "" {
		return nil, fmt.Errorf("s3.bucket is missing")
	}
	if doc.Encryption == nil || doc.Encryption.Salt == "" {
		return nil, fmt.Errorf("encryption.salt is missing")
	}
	e := &File{
		S3: S3{
			Endpoint: doc.S3.Endpoint, Region: doc.S3.Region, Bucket: doc.S3.Bucket,
			AccessKeyID: doc.S3.AccessKeyID, SecretAccessKey: doc.S3.SecretAccessKey, UseSSL: doc.S3.UseSSL,
		},
		Salt:        doc.Encryption.Salt,
		InitProfile: doc.InitProfile,
		Prefix:      doc.Prefix,
		Sync:        raw["sync"],
		raw:         raw,
	}
	// previousKeys is our own extension: an unusable value is dropped (on the next
	// write), never a reason to refuse the config.
	if pk, ok := raw["previousKeys"]; ok {
		var keys []PreviousKey
		if json.Unmarshal(pk, &keys) == nil {
			for _, k := range keys {
				if validFingerprint(k.Fingerprint) && k.Salt != "" {
					e.PreviousKeys = append(e.PreviousKeys, k)
				}
			}
		}
	}
	if doc.Files != nil {
		if err := CheckVaultFolder(doc.Files.VaultFolder); doc.Files.VaultFolder != "" && err != nil {
			return nil, err
		}
		e.VaultFolder = doc.Files.VaultFolder
	}
	if doc.Audit != nil {
		e.AuditEnabled = doc.Audit.Enabled
	}
	return e, nil
}

// VersionError is a config whose version is not 1.
type VersionError struct{ Version string }

func (e *VersionError) Error() string {
	return fmt.Sprintf("unsupported config version %s (this git-vsync reads version 1)", e.Version)
}

// CheckVaultFolder refuses vault folders that would leave the repository: absolute
// paths, drive letters, backslashes, '..' or empty segments. A config can come from a
// teammate's .share file, so this is a security check, not a nicety.
func CheckVaultFolder(f string) error {
	bad := func(why string) error { return fmt.Errorf("files.vaultFolder %q %s", f, why) }
	switch {
	case f == "":
		return bad("is empty")
	case strings.HasPrefix(f, "/"):
		return bad("is absolute; it must be relative to the repository top")
	case strings.Contains(f, "\\"):
		return bad("contains a backslash; use '/'")
	case len(f) >= 2 && f[1] == ':':
		return bad("names a drive")
	case strings.ContainsRune(f, 0):
		return bad("contains NUL")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(f, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("has an empty, '.' or '..' segment")
		}
		if gitname.Is(seg) {
			return bad("has a segment git reads itself (" + seg + ")")
		}
	}
	return nil
}

// JSON encodes the config as compact JSON, keeping unknown keys of the file it was
// read from.
func (e *File) JSON() ([]byte, error) {
	doc := map[string]json.RawMessage{}
	for k, v := range e.raw {
		doc[k] = v
	}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		doc[k] = b
	}
	set("version", 1)
	s3 := map[string]any{
		"endpoint": e.S3.Endpoint, "region": e.S3.Region, "bucket": e.S3.Bucket,
		"accessKeyId": e.S3.AccessKeyID, "secretAccessKey": e.S3.SecretAccessKey,
	}
	// useSsl is always written: the TypeScript tool refuses a config without it.
	s3["useSsl"] = e.S3.SSL()
	doc["s3"] = merge(doc["s3"], s3)
	doc["encryption"] = merge(doc["encryption"], map[string]any{"salt": e.Salt})
	if e.VaultFolder != "" {
		doc["files"] = merge(doc["files"], map[string]any{"vaultFolder": e.VaultFolder})
	} else if _, ok := doc["files"]; ok {
		doc["files"] = merge(doc["files"], nil, "vaultFolder")
	}
	if len(e.Sync) > 0 {
		doc["sync"] = e.Sync
	} else {
		delete(doc, "sync")
	}
	if e.AuditEnabled != nil {
		doc["audit"] = merge(doc["audit"], map[string]any{"enabled": *e.AuditEnabled})
	} else if _, ok := doc["audit"]; ok {
		doc["audit"] = merge(doc["audit"], nil, "enabled")
	}
	if len(e.PreviousKeys) > 0 {
		set("previousKeys", e.PreviousKeys)
	} else {
		delete(doc, "previousKeys")
	}
	for k, v := range map[string]string{"initProfile": e.InitProfile, "prefix": e.Prefix} {
		if v != "" {
			set(k, v)
		} else {
			delete(doc, k)
		}
	}
	return json.Marshal(doc)
}

// merge overlays set onto the JSON object raw (kept when not an object), removing
// the keys in unset.
func merge(raw json.RawMessage, set map[string]any, unset ...string) json.RawMessage {
	obj := map[string]json.RawMessage{}
	_ = json.Unmarshal(raw, &obj)
	if obj == nil {
		obj = map[string]json.RawMessage{}
	}
	for _, k := range unset {
		delete(obj, k)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, _ := json.Marshal(set[k])
		obj[k] = b
	}
	b, _ := json.Marshal(obj)
	return b
}

// Bytes returns the file content: gzip of the compact JSON.
func (e *File) Bytes() ([]byte, error) {
	js, err := e.JSON()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Load reads the config file at path.
func Load(path string) (*File, error) {
	data, err := atomicfile.ReadRegularFollow(path, MaxBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	e, err := Parse(data)
	if err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			return nil, fail.Wrap(fail.NotSetUp, err, "upgrade git-vsync, or import a new .share file", "config %s", path)
		}
		return nil, fail.Wrap(fail.NotSetUp, err, "import a fresh .share file with `git vsync import`, or move the file away and run `git vsync init`", "config %s is unreadable", path)
	}
	return e, nil
}

// Save writes the config atomically with mode 0600 in 0700 folders.
func (e *File) Save(path string) error {
	b, err := e.Bytes()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

// Root returns ${XDG_CONFIG_HOME:-~/.config}/vsync. XDG_CONFIG_HOME counts only
// when set and not blank.
func Root(getenv func(string) string) (string, error) {
	if x := strings.TrimSpace(getenv("XDG_CONFIG_HOME")); x != "" {
		return filepath.Join(x, "vsync"), nil
	}
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fail.Wrap(fail.NotSetUp, err, "set HOME or XDG_CONFIG_HOME", "cannot find the config folder")
		}
		home = h
	}
	return filepath.Join(home, ".config", "vsync"), nil
}

// EnvPath is the config file of (repo, env) below root.
func EnvPath(root, repoName, env string) string {
	return filepath.Join(root, repoName, "env_"+env)
}

// ListEnvs returns the envs that have a config file for repo, sorted.
func ListEnvs(root, repoName string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, repoName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var envs []string
	for _, de := range ents {
		name, ok := strings.CutPrefix(de.Name(), "env_")
		if ok && de.Type().IsRegular() && repo.ValidEnv(name) {
			envs = append(envs, name)
		}
	}
	sort.Strings(envs)
	return envs, nil
}

// DefaultVault is the repo-relative vault folder of an env without files.vaultFolder.
func DefaultVault(env string) string { return repo.DefaultVaultFolder(env) }
