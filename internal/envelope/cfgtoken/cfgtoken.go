// Package cfgtoken implements the runtime token of SPEC §4.6:
// "vsync-cfg-v1:" + base64url (no padding) of gzip of compact JSON.
package cfgtoken

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/internal/codec"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
)

const (
	Prefix = "vsync-cfg-v1:"
	// Version is the only token version readers accept.
	Version = 1
	// MinSaltLen is the shortest salt (in characters) a token may carry.
	MinSaltLen = 16
	// MaxJSON bounds the decompressed JSON; a real token is well under 1 KiB.
	MaxJSON = 1 << 20
)

// Token is the decoded runtime config. Field order is the TypeScript tool's.
type Token struct {
	V               int    `json:"v"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	Bucket          string `json:"bucket"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Prefix          string `json:"prefix"`
	Env             string `json:"env"`
	Salt            string `json:"salt"`
	Iterations      int    `json:"iterations"`
}

// String redacts the credentials so a stray %v cannot print them.
func (t Token) String() string {
	return fmt.Sprintf("cfgtoken.Token{V:%d Endpoint:%q Region:%q Bucket:%q AccessKeyID:<redacted> SecretAccessKey:<redacted> Prefix:%q Env:%q Salt:<redacted> Iterations:%d}",
		t.V, t.Endpoint, t.Region, t.Bucket, t.Prefix, t.Env, t.Iterations)
}

// GoString redacts as String does, for %#v.
func (t Token) GoString() string { return t.String() }

func corrupt(detail string) error {
	return envelope.New(envelope.KindBundleCorrupt, "runtime config token: "+detail)
}

func unsupported(detail string) error {
	return envelope.New(envelope.KindConfigUnsupportedVersion, detail)
}

// Encode renders t as a token. A zero V means Version and zero Iterations means
// kdf.Iterations; the result always decodes back to the same Token.
func Encode(t Token) (string, error) {
	if t.V == 0 {
		t.V = Version
	}
	if t.Iterations == 0 {
		t.Iterations = kdf.Iterations
	}
	if err := check(t); err != nil {
		return "", err
	}
	js, err := codec.MarshalCompact(t)
	if err != nil {
		return "", fmt.Errorf("cfgtoken: encode: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(codec.Gzip(js)), nil
}

// Decode parses a token. Errors never quote the token: it carries credentials.
func Decode(s string) (Token, error) {
	s = strings.TrimSpace(s)
	body, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		if strings.HasPrefix(s, "vsync-cfg-v") {
			// A later token generation: say so rather than "missing".
			return Token{}, unsupported("token prefix is not " + Prefix)
		}
		return Token{}, envelope.New(envelope.KindConfigMissing, "value does not start with "+Prefix)
	}
	if strings.ContainsAny(body, "+/=") {
		return Token{}, unsupported("token body uses padded or standard base64; expected base64url without padding")
	}
	if body == "" {
		return Token{}, corrupt("empty body")
	}
	gz, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Token{}, corrupt("body is not base64url")
	}
	js, err := codec.Gunzip(gz, MaxJSON)
	if errors.Is(err, codec.ErrTooLarge) {
		return Token{}, corrupt(fmt.Sprintf("body expands beyond %d bytes", MaxJSON))
	}
	if err != nil {
		return Token{}, corrupt("body is not valid gzip")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(js, &fields); err != nil || fields == nil {
		return Token{}, corrupt("body is not a JSON object")
	}
	// v before anything else: another version may have another shape.
	var v int
	if raw, ok := fields["v"]; !ok || json.Unmarshal(raw, &v) != nil || v != Version {
		return Token{}, unsupported("token version (v) is not 1")
	}
	var t Token
	if err := json.Unmarshal(js, &t); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Token{}, corrupt("field " + te.Field + " has the wrong type")
		}
		return Token{}, corrupt("body is not valid JSON")
	}
	if err := check(t); err != nil {
		return Token{}, err
	}
	return t, nil
}

// check holds the rules shared by Encode and Decode.
func check(t Token) error {
	if t.V != Version {
		return unsupported("token version (v) is not 1")
	}
	if n := utf8.RuneCountInString(t.Salt); n < MinSaltLen {
		return unsupported(fmt.Sprintf("salt is %d characters, minimum %d", n, MinSaltLen))
	}
	if t.Iterations <= 0 {
		return corrupt("iterations must be positive")
	}
	return nil
}
