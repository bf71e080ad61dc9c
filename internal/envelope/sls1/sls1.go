// Package sls1 implements the .share file of SPEC §4.5:
// "SLS1" | salt length L (1 byte) | salt text | RQE1 envelope whose plaintext is
// standard base64 of gzip of the compact JSON payload.
package sls1

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/internal/codec"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
)

const (
	Magic = "SLS1"
	// PayloadVersion is the only payload version readers accept.
	PayloadVersion = 2
	// MinKeyLen is the shortest key (in characters) a payload may carry.
	MinKeyLen = 20
	// MaxPayload bounds the decompressed JSON; a real one is a few KiB.
	MaxPayload = 1 << 20
	saltBytes  = 16
)

// Payload is the decrypted content of a share file. Config is the §1.1 object,
// kept raw so unknown keys survive; the config package validates it fully.
type Payload struct {
	Version int             `json:"version"`
	Repo    string          `json:"repo"`
	Env     string          `json:"env"`
	Config  json.RawMessage `json:"config"`
	Key     string          `json:"key"`
}

// String redacts the key and config so a stray %v cannot print secrets.
func (p Payload) String() string {
	return fmt.Sprintf("sls1.Payload{Version:%d Repo:%q Env:%q Config:<redacted> Key:<redacted %s>}",
		p.Version, p.Repo, p.Env, Fingerprint(p.Key))
}

// GoString redacts as String does, for %#v.
func (p Payload) GoString() string { return p.String() }

func corrupt(format string, args ...any) error {
	return envelope.Errorf(envelope.KindBundleCorrupt, "share file: "+format, args...)
}

// Frame prefixes an RQE1 envelope with the magic and the salt text.
func Frame(salt string, env []byte) ([]byte, error) { return FrameMagic(Magic, salt, env) }

// FrameMagic is Frame with another 4-byte magic: the keystore file (VKT1) uses the
// same framing.
func FrameMagic(magic, salt string, env []byte) ([]byte, error) {
	if salt == "" || len(salt) > 255 {
		return nil, fmt.Errorf("%s: salt must be 1 to 255 bytes, got %d", strings.ToLower(magic), len(salt))
	}
	out := make([]byte, 0, len(magic)+1+len(salt)+len(env))
	out = append(out, magic...)
	out = append(out, byte(len(salt)))
	out = append(out, salt...)
	return append(out, env...), nil
}

// Unframe splits a share file into salt text and RQE1 envelope (which aliases data).
func Unframe(data []byte) (salt string, env []byte, err error) {
	return UnframeMagic(Magic, "share file", data)
}

// UnframeMagic is Unframe for a file with another 4-byte magic; what names the
// kind of file in errors.
func UnframeMagic(magic, what string, data []byte) (salt string, env []byte, err error) {
	bad := func(format string, args ...any) error {
		return envelope.Errorf(envelope.KindBundleCorrupt, what+": "+format, args...)
	}
	if len(data) < len(magic)+1 {
		return "", nil, bad("too short (%d bytes)", len(data))
	}
	if string(data[:3]) != magic[:3] {
		return "", nil, bad("not a vsync %s (bad magic)", what)
	}
	if data[3] != magic[3] {
		return "", nil, envelope.Errorf(envelope.KindUnsupportedSpecVersion, "%s format version is not %s", what, magic)
	}
	n := int(data[4])
	if n == 0 {
		return "", nil, bad("empty salt")
	}
	if len(data) < len(magic)+1+n {
		return "", nil, bad("salt length %d runs past the end of the file", n)
	}
	s := data[len(magic)+1 : len(magic)+1+n]
	if !utf8.Valid(s) || bytes.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", nil, bad("salt is not printable text")
	}
	return string(s), data[len(magic)+1+n:], nil
}

// NewSalt is the salt text of a new share or keystore file: standard base64 of 16
// random bytes (24 characters with "==").
func NewSalt() (string, error) {
	var raw [saltBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("no randomness for the salt: %w", err)
	}
	return base64.StdEncoding.EncodeToString(raw[:]), nil
}

// Seal builds a share file for p under passphrase, with a fresh salt.
// A zero Version means PayloadVersion.
func Seal(passphrase string, p Payload) ([]byte, error) {
	if p.Version == 0 {
		p.Version = PayloadVersion
	}
	if err := validate(p); err != nil {
		return nil, err
	}
	js, err := codec.MarshalCompact(p)
	if err != nil {
		return nil, fmt.Errorf("sls1: encode payload: %w", err)
	}
	pt := []byte(base64.StdEncoding.EncodeToString(codec.Gzip(js)))
	salt, err := NewSalt()
	if err != nil {
		return nil, fmt.Errorf("sls1: %w", err)
	}
	env, err := rqe1.SealWithPassphrase(passphrase, salt, pt)
	if err != nil {
		return nil, err
	}
	return Frame(salt, env)
}

// Open decrypts and validates a share file.
func Open(passphrase string, data []byte) (Payload, error) {
	salt, env, err := Unframe(data)
	if err != nil {
		return Payload{}, err
	}
	pt, err := rqe1.OpenWithPassphrase(passphrase, salt, env)
	if err != nil {
		if envelope.KindOf(err) == envelope.KindWrongPassphrase {
			return Payload{}, envelope.New(envelope.KindWrongPassphrase, "share file: wrong passphrase, or the file was modified")
		}
		return Payload{}, err
	}
	return parsePayload(pt)
}

// parsePayload decodes the RQE1 plaintext. Errors never quote it: it holds the key.
func parsePayload(pt []byte) (Payload, error) {
	gz, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(pt)))
	if err != nil {
		return Payload{}, corrupt("payload is not base64")
	}
	js, err := codec.Gunzip(gz, MaxPayload)
	if errors.Is(err, codec.ErrTooLarge) {
		return Payload{}, corrupt("payload expands beyond %d bytes", MaxPayload)
	}
	if err != nil {
		return Payload{}, corrupt("payload is not valid gzip")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(js, &fields); err != nil || fields == nil {
		return Payload{}, corrupt("payload is not a JSON object")
	}
	// Version first, so a future payload is reported as such rather than as damage.
	vraw, ok := fields["version"]
	if !ok {
		return Payload{}, corrupt("payload has no version")
	}
	var v int
	if err := json.Unmarshal(vraw, &v); err != nil {
		return Payload{}, corrupt("payload version is not an integer")
	}
	if v != PayloadVersion {
		return Payload{}, envelope.Errorf(envelope.KindUnsupportedSpecVersion, "share payload version %d, only %d is supported", v, PayloadVersion)
	}
	var p Payload
	for _, f := range []struct {
		name string
		dst  *string
	}{{"repo", &p.Repo}, {"env", &p.Env}, {"key", &p.Key}} {
		raw, ok := fields[f.name]
		if !ok {
			return Payload{}, corrupt("payload has no %s", f.name)
		}
		// null decodes to "" and is then refused by validate.
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return Payload{}, corrupt("payload %s is not a string", f.name)
		}
	}
	p.Version = v
	p.Config = fields["config"]
	if err := validate(p); err != nil {
		return Payload{}, err
	}
	return p, nil
}

// validate holds the checks shared by Seal and Open.
func validate(p Payload) error {
	if p.Version != PayloadVersion {
		return envelope.Errorf(envelope.KindUnsupportedSpecVersion, "share payload version %d, only %d is supported", p.Version, PayloadVersion)
	}
	if p.Repo == "" {
		return corrupt("payload repo is empty")
	}
	if p.Env == "" {
		return corrupt("payload env is empty")
	}
	if n := utf8.RuneCountInString(p.Key); n < MinKeyLen {
		return corrupt("payload key is %d characters, minimum %d", n, MinKeyLen)
	}
	if p.Config == nil {
		return corrupt("payload has no config")
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(p.Config, &cfg); err != nil || cfg == nil {
		return corrupt("payload config is not a JSON object")
	}
	var cv int
	if raw, ok := cfg["version"]; !ok || json.Unmarshal(raw, &cv) != nil || cv != 1 {
		return corrupt("payload config version is not 1")
	}
	return nil
}

// Fingerprint is the first 8 hex digits of SHA-256 of the key text, shown on both
// ends of a share so people can compare keys without revealing them.
func Fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}
