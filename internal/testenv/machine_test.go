package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A machine's variables win over the test process's for children, and only they
// answer Getenv; git run on the machine sees its HOME and no system config.
func TestMachine(t *testing.T) {
	t.Setenv("HOME", "/nonexistent-home-of-the-test-process")
	t.Setenv("VSYNC_MACHINE_PROBE", "outer")
	m := NewMachine(t)
	if m.Getenv("VSYNC_MACHINE_PROBE") != "" {
		t.Fatal("Getenv answered from the process environment")
	}
	m.Setenv("VSYNC_MACHINE_PROBE", "inner")
	var homes, probes []string
	for _, kv := range m.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME":
			homes = append(homes, v)
		case "VSYNC_MACHINE_PROBE":
			probes = append(probes, v)
		}
	}
	if len(homes) != 1 || homes[0] != m.Home || len(probes) != 1 || probes[0] != "inner" {
		t.Fatalf("Environ: HOME %q, probe %q", homes, probes)
	}
	if got, want := m.ConfigDir(), filepath.Join(m.Home, ".config", "vsync"); got != want {
		t.Fatalf("ConfigDir = %s, want %s", got, want)
	}
	if !strings.HasPrefix(m.FileStore(), "file://") {
		t.Fatal("FileStore is not a file:// URL")
	}

	NeedCommand(t, "git")
	if err := os.WriteFile(filepath.Join(m.Home, ".gitconfig"), []byte("[user]\n\tname = Machine Probe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(m.Git(m.Home, "config", "--global", "user.name")); got != "Machine Probe" {
		t.Fatalf("git read another HOME: user.name %q", got)
	}
}
