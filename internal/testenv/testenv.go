// Package testenv lets tests reach real components (git, versitygw, the Secret
// Service) and decides what happens when one is missing: a skip on a laptop, a
// failure when CI=true, so that CI can never pass by skipping.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where skips are failures.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it under CI, because a real component is absent.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and a required component is missing: "+format, args...)
	}
	t.Skipf("component missing (set CI=true to make this a failure): "+format, args...)
}

// NeedCommand returns the path of a program on PATH or calls Missing.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not on PATH", name)
	}
	return p
}

// WriteTree creates files (path → content) and folders (value "/") below dir,
// with the modes a vault has (files 0600, folders 0700).
func WriteTree(t testing.TB, dir string, tree map[string]string) {
	t.Helper()
	for p, c := range tree {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if c == "/" {
			if err := os.MkdirAll(full, 0o700); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
