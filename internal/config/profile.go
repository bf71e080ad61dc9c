package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
)

// Profile is a reusable bucket and its credentials (SPEC §1.2).
type Profile struct {
	Version         int    `json:"version"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	Bucket          string `json:"bucket"`
	Prefix          string `json:"prefix,omitempty"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// ValidProfileName reports whether name can be a profile name: at most 64
// bytes matching ^[A-Za-z0-9._-]+$, not only dots. (A loop, not a regexp: Go
// would compile that at package init, on every command's start.)
func ValidProfileName(name string) bool {
	if name == "" || len(name) > 64 || strings.Trim(name, ".") == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ProfilePath is the file of profile name below root.
func ProfilePath(root, name string) string {
	return filepath.Join(root, "profiles", name+".json")
}

// ParseProfile decodes and validates a profile file.
func ParseProfile(data []byte) (*Profile, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("profile is larger than %d bytes", MaxBytes)
	}
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a profile JSON object: %v", err)
	}
	if p.Version != 1 {
		return nil, &VersionError{Version: fmt.Sprint(p.Version)}
	}
	if p.Bucket == "" {
		return nil, fmt.Errorf("profile has no bucket")
	}
	return &p, nil
}

// LoadProfile reads profile name below root.
func LoadProfile(root, name string) (*Profile, error) {
	if !ValidProfileName(name) {
		return nil, fmt.Errorf("invalid profile name %q (letters, digits, '.', '_', '-'; at most 64)", name)
	}
	data, err := atomicfile.ReadRegularFollow(ProfilePath(root, name), MaxBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", name, err)
	}
	return p, nil
}

// SaveProfile writes profile name below root: 2-space JSON, trailing newline, 0600.
func SaveProfile(root, name string, p *Profile) error {
	if !ValidProfileName(name) {
		return fmt.Errorf("invalid profile name %q", name)
	}
	p.Version = 1
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(ProfilePath(root, name), append(b, '\n'), 0o600)
}

// ListProfiles returns the profile names below root, sorted.
func ListProfiles(root string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "profiles"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range ents {
		if n, ok := strings.CutSuffix(de.Name(), ".json"); ok && de.Type().IsRegular() && ValidProfileName(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// RemoveProfile deletes profile name; ErrNotFound when absent.
func RemoveProfile(root, name string) error {
	if !ValidProfileName(name) {
		return fmt.Errorf("invalid profile name %q", name)
	}
	err := os.Remove(ProfilePath(root, name))
	if errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	}
	return err
}
