package app

import (
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
)

// TestCorruptLatestHasAWayOut: a corrupt `latest` (garbage, or over 64 bytes) is
// exit 6 with a hint naming push --force, and push --force repairs it; pull --at
// works past it.
func TestCorruptLatestHasAWayOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, m *machine, storeURL string) {
		a, ts1 := setup(t, m, storeURL)
		for _, garbage := range []string{"not a timestamp", strings.Repeat("9", 1<<20)} {
			putObject(t, a, "acme_web/dev/latest", []byte(garbage))
			_, err := a.app.Push(bg, "", "dev", PushOptions{})
			wantCode(t, err, fail.Integrity, "latest pointer for dev is corrupt")
			if !strings.Contains(fail.HintOf(err), "push dev --force") {
				t.Fatalf("hint %q does not name push --force", fail.HintOf(err))
			}
			_, err = a.app.Pull(bg, "", "dev", PullOptions{})
			wantCode(t, err, fail.Integrity, "corrupt")
			if _, err := a.app.Pull(bg, "", "dev", PullOptions{At: ts1, Force: true}); err != nil {
				t.Fatalf("pull --at past a corrupt latest: %v", err)
			}
			a.write("dev", ".env.dev", "REPAIRED="+garbage[:3]+"\n")
			res, err := a.app.Push(bg, "", "dev", PushOptions{Force: true})
			if err != nil {
				t.Fatalf("push --force does not repair: %v", err)
			}
			if got := bucket(t, a)["acme_web/dev/latest"]; got != res.TS {
				t.Fatalf("latest = %.40q, want %s", got, res.TS)
			}
			b := m.newClone("b" + garbage[:1])
			if _, err := b.app.Pull(bg, "", "dev", PullOptions{}); err != nil {
				t.Fatal(err)
			}
			ts1 = res.TS
		}
	})
}
