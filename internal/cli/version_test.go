package cli

import (
	"runtime/debug"
	"testing"
)

// --version: the ldflags value wins; a `go install …@vX` build shows the module
// version from its build info; a checkout build without either says "dev".
func TestVersionOf(t *testing.T) {
	mod := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/git-vsync/git-vsync", Version: v}}
	}
	for _, c := range []struct {
		name, ldflags string
		bi            *debug.BuildInfo
		want          string
	}{
		{"ldflags", "v1.2.3-4-gabc", mod("v1.2.0"), "v1.2.3-4-gabc"},
		{"go install", "", mod("v1.2.0"), "v1.2.0"},
		{"go install pseudo-version", "", mod("v0.0.0-20261201020304-abcdef123456"), "v0.0.0-20261201020304-abcdef123456"},
		{"checkout build", "", mod("(devel)"), "dev"},
		{"no module version", "", mod(""), "dev"},
		{"no build info", "", nil, "dev"},
	} {
		if got := versionOf(c.ldflags, c.bi); got != c.want {
			t.Errorf("%s: versionOf(%q, %v) = %q, want %q", c.name, c.ldflags, c.bi, got, c.want)
		}
	}
}
