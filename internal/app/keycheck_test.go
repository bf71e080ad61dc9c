package app

import (
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

// TestWrongKeyNeverPublishes: a key of the wrong shape in the environment is
// refused by every command (exit 4); a well-formed key that is not the one that
// opened this clone's last version is refused by push (exit 6) unless --force.
func TestWrongKeyNeverPublishes(t *testing.T) {
	m := newMachine(t)
	a, ts := setup(t, m, fileStoreURL(t))
	before := bucketAll(t, a)

	m.env["VSYNC_KEY"] = "not-a-key"
	a.write("dev", ".env.dev", "EDIT=1\n")
	_, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	wantCode(t, err, fail.NotSetUp, "VSYNC_KEY does not hold a key")
	_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{Force: true})
	wantCode(t, err, fail.NotSetUp, "VSYNC_KEY does not hold a key")
	rep, err := a.app.Status(bg, a.app.Resolve(""), false)
	if err != nil || len(rep.Envs) != 1 || rep.Envs[0].Key || rep.Envs[0].KeyError == "" {
		t.Fatalf("status with a malformed key: %+v %v", rep, err)
	}

	other, _ := keychain.NewKey()
	m.env["VSYNC_KEY"] = other
	_, err = a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	wantCode(t, err, fail.Integrity, "is not the one that opened version "+ts)
	// The way to tell: doctor opens the store's latest version (pull, which the
	// hint named before, says "up to date" without opening anything).
	if h := fail.HintOf(err); !strings.Contains(h, "`git vsync doctor dev`") || !strings.Contains(h, "import dev FILE.share --force") {
		t.Fatalf("hint %q", h)
	}
	sameTree(t, bucketAll(t, a), before)

	delete(m.env, "VSYNC_KEY")
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatalf("the right key is refused: %v", err)
	}
	// --force publishes with the other key on purpose.
	m.env["VSYNC_KEY"] = other
	a.write("dev", ".env.dev", "EDIT=2\n")
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Force: true}); err != nil {
		t.Fatalf("--force: %v", err)
	}
}
