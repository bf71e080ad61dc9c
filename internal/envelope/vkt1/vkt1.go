// Package vkt1 implements the keystore file `.keytree` of SPEC §14.2: the framing of
// a .share file (package sls1) with magic "VKT1", whose RQE1 plaintext is raw UTF-8
// JSON (not gzip, not base64) holding every (repo, env) of a machine with both
// halves, and optionally the bucket profiles.
package vkt1

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
)

const (
	Magic = "VKT1"
	// Version is the only payload version readers accept.
	Version = 1
	// MaxFile bounds a keystore file: thousands of entries fit in it.
	MaxFile = 16 << 20
	// MaxEntries bounds the entries and the profiles of one file.
	MaxEntries = 10_000
)

// Entry is both halves of one (repo, env). Config is the §1.1 object, kept raw so
// unknown keys survive; the config package validates it.
type Entry struct {
	Repo   string          `json:"repo"`
	Env    string          `json:"env"`
	Config json.RawMessage `json:"config"`
	Key    string          `json:"key"`
}

// Profile is a saved bucket profile (§1.2 fields) and its name, kept raw.
type Profile struct {
	Name string
	Raw  json.RawMessage // the whole object, "name" included
}

// Payload is the decrypted content of a keystore file.
type Payload struct {
	Version    int
	ExportedAt string
	Entries    []Entry
	Profiles   []Profile
}

// String redacts keys and configs so a stray %v cannot print secrets.
func (p Payload) String() string {
	return fmt.Sprintf("vkt1.Payload{Version:%d Entries:%d Profiles:%d <redacted>}", p.Version, len(p.Entries), len(p.Profiles))
}

// GoString redacts as String does.
func (p Payload) GoString() string { return p.String() }

func corrupt(format string, args ...any) error {
	return envelope.Errorf(envelope.KindBundleCorrupt, "keystore file: "+format, args...)
}

// Seal builds a keystore file for p under passphrase, with a fresh salt.
func Seal(passphrase string, p Payload) ([]byte, error) {
	doc := map[string]any{"version": Version, "exportedAt": p.ExportedAt, "entries": p.Entries}
	if p.Entries == nil {
		doc["entries"] = []Entry{}
	}
	if len(p.Profiles) > 0 {
		profs := make([]json.RawMessage, len(p.Profiles))
		for i, pr := range p.Profiles {
			profs[i] = pr.Raw
		}
		doc["profiles"] = profs
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("vkt1: encode payload: %w", err)
	}
	pt := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if _, err := parse(pt); err != nil {
		return nil, err
	}
	salt, err := sls1.NewSalt()
	if err != nil {
		return nil, fmt.Errorf("vkt1: %w", err)
	}
	env, err := rqe1.SealWithPassphrase(passphrase, salt, pt)
	if err != nil {
		return nil, err
	}
	return sls1.FrameMagic(Magic, salt, env)
}

// Open decrypts a keystore file and checks its structure. Each entry's config and
// each profile still need validating by their own parsers before use.
func Open(passphrase string, data []byte) (Payload, error) {
	if len(data) > MaxFile {
		return Payload{}, corrupt("larger than %d bytes", MaxFile)
	}
	salt, env, err := sls1.UnframeMagic(Magic, "keystore file", data)
	if err != nil {
		return Payload{}, err
	}
	pt, err := rqe1.OpenWithPassphrase(passphrase, salt, env)
	if err != nil {
		if envelope.KindOf(err) == envelope.KindWrongPassphrase {
			return Payload{}, envelope.New(envelope.KindWrongPassphrase, "keystore file: wrong passphrase, or the file was modified")
		}
		return Payload{}, err
	}
	return parse(pt)
}

// parse decodes the plaintext JSON. Errors never quote it: it holds keys.
func parse(pt []byte) (Payload, error) {
	var doc struct {
		Version    json.RawMessage   `json:"version"`
		ExportedAt string            `json:"exportedAt"`
		Entries    []json.RawMessage `json:"entries"`
		Profiles   []json.RawMessage `json:"profiles"`
	}
	if err := json.Unmarshal(pt, &doc); err != nil {
		return Payload{}, corrupt("payload is not the expected JSON object")
	}
	if string(doc.Version) != "1" {
		return Payload{}, envelope.New(envelope.KindUnsupportedSpecVersion, "keystore payload version is not 1")
	}
	if len(doc.Entries) > MaxEntries || len(doc.Profiles) > MaxEntries {
		return Payload{}, corrupt("more than %d entries or profiles", MaxEntries)
	}
	p := Payload{Version: Version, ExportedAt: doc.ExportedAt}
	for i, raw := range doc.Entries {
		var e Entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return Payload{}, corrupt("entry %d is not an object of strings", i+1)
		}
		switch {
		case e.Repo == "" || e.Env == "":
			return Payload{}, corrupt("entry %d has no repo or env", i+1)
		case len(e.Key) < sls1.MinKeyLen:
			return Payload{}, corrupt("entry %d (%q/%q) has no usable key", i+1, e.Repo, e.Env)
		case len(e.Config) == 0 || e.Config[0] != '{':
			return Payload{}, corrupt("entry %d (%q/%q) has no config object", i+1, e.Repo, e.Env)
		}
		p.Entries = append(p.Entries, e)
	}
	for i, raw := range doc.Profiles {
		var pr struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &pr); err != nil || pr.Name == "" || len(raw) == 0 || raw[0] != '{' {
			return Payload{}, corrupt("profile %d has no name", i+1)
		}
		p.Profiles = append(p.Profiles, Profile{Name: pr.Name, Raw: raw})
	}
	return p, nil
}
