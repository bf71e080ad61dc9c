package app

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

func fileStoreURL(t *testing.T) string {
	return "file://" + filepath.ToSlash(t.TempDir()) + "#team"
}

func mustKey(t *testing.T, m *machine, account string) string {
	t.Helper()
	k, err := m.kc.Get(bg, account)
	if err != nil {
		t.Fatalf("keychain %s: %v", account, err)
	}
	return k
}

func TestShareRotate(t *testing.T) {
	m := newMachine(t)
	a, ts1 := setup(t, m, fileStoreURL(t))
	a.write("dev", ".env.dev", "API_TOKEN=second\n")
	p2, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts2 := p2.TS
	v2 := tree(t, a.vault("dev"))
	oldKey := mustKey(t, m, "acme_web/dev")
	e0, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	oldSalt := e0.Config.Salt

	// A teammate holds the old halves.
	share, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Out: filepath.Join(m.home, "old.share")})
	if err != nil {
		t.Fatal(err)
	}
	m2 := newMachine(t)
	b := m2.newClone("b")
	if _, err := b.app.Import(bg, b.app.Resolve(""), "dev", share.Path, share.Passphrase, ImportOptions{NoHooks: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}

	r, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newKey := mustKey(t, m, "acme_web/dev")
	e1, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	if r.Previous != ts2 || r.TS <= ts2 || newKey == oldKey || e1.Config.Salt == oldSalt ||
		r.OldFingerprint != sls1.Fingerprint(oldKey) || r.NewFingerprint != sls1.Fingerprint(newKey) {
		t.Fatalf("rotate result %+v", r)
	}
	if mustKey(t, m, "acme_web/dev#"+r.OldFingerprint) != oldKey {
		t.Fatal("old key not kept")
	}
	if accts := m.kc.Accounts(); len(accts) != 2 {
		t.Fatalf("keychain accounts %v (temporary entry left?)", accts)
	}
	if len(e1.Config.PreviousKeys) != 1 || e1.Config.PreviousKeys[0].Fingerprint != r.OldFingerprint || e1.Config.PreviousKeys[0].Salt != oldSalt {
		t.Fatalf("previousKeys %+v", e1.Config.PreviousKeys)
	}

	// The new latest opens with the new key only.
	objs := bucket(t, a)
	if objs["acme_web/dev/latest"] != r.TS {
		t.Fatalf("latest = %q", objs["acme_web/dev/latest"])
	}
	body := []byte(objs["acme_web/dev/versions/"+r.TS+".enc"])
	oldAES, _ := kdf.Key(oldKey, oldSalt)
	if _, err := rqe1.Open(oldAES, body); envelope.KindOf(err) != envelope.KindWrongPassphrase {
		t.Fatalf("old key on new version: %v", err)
	}
	newAES, _ := kdf.Key(newKey, e1.Config.Salt)
	pt, err := rqe1.Open(newAES, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rqem.Open(pt, r.TS); err != nil {
		t.Fatal(err)
	}

	// This clone holds the new version: up to date, same content.
	if res, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil || !res.UpToDate {
		t.Fatalf("pull after rotate: %+v %v", res, err)
	}
	// A second clone on this machine pulls with the new key.
	a2 := m.newClone("a2")
	if _, err := a2.app.Pull(bg, a2.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, tree(t, a2.vault("dev")), v2)
	// pull --at of a pre-rotation version still works here.
	if _, err := a2.app.Pull(bg, a2.app.Resolve(""), "dev", PullOptions{At: ts1}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, a2.vault("dev"))[".env.dev"]; got != "API_TOKEN=s3cr3t-value\n" {
		t.Fatalf("pull --at %s gave %q", ts1, got)
	}

	// The teammate's old key: exit 6, pointing at a new share.
	a.write("dev", ".env.dev", "API_TOKEN=third\n")
	if _, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{})
	wantCode(t, err, fail.Integrity, "does not open with this machine's key")
	if h := fail.HintOf(err); !strings.Contains(h, "git vsync import dev FILE.share --force") {
		t.Fatalf("hint %q", h)
	}
	// ...and a new share fixes it.
	share2, err := a.app.Export(bg, a.app.Resolve(""), "dev", ExportOptions{Out: filepath.Join(m.home, "new.share")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.Import(bg, b.app.Resolve(""), "dev", share2.Path, share2.Passphrase, ImportOptions{NoHooks: true}); fail.CodeOf(err) != fail.Refused {
		t.Fatalf("import over old halves without --force: %v", err)
	}
	if _, err := b.app.Import(bg, b.app.Resolve(""), "dev", share2.Path, share2.Passphrase, ImportOptions{NoHooks: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	// The teammate kept the old key and can still read old versions.
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{At: ts1, Force: true}); err != nil {
		t.Fatal(err)
	}

	// Purge: declined first, then confirmed.
	r2, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{PurgeOld: true, Confirm: func([]string) (bool, error) { return false, nil }})
	if err != nil || !r2.PurgeDeclined {
		t.Fatalf("declined purge: %+v %v", r2, err)
	}
	var asked []string
	r3, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{PurgeOld: true, Confirm: func(v []string) (bool, error) { asked = v; return true, nil }})
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := a.app.Versions(bg, a.app.Resolve(""), "dev")
	if len(vs) != 1 || vs[0].TS != r3.TS {
		t.Fatalf("versions after purge %+v", vs)
	}
	if len(asked) != 5 || !slices.Contains(asked, ts1) || !slices.Contains(asked, r2.TS) || len(r3.Purged) != 5 {
		t.Fatalf("asked %v purged %v", asked, r3.Purged)
	}
	if accts := m.kc.Accounts(); len(accts) != 1 || r3.KeysForgotten != 3 {
		t.Fatalf("keychain after purge %v, forgot %d", accts, r3.KeysForgotten)
	}
	e3, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	if len(e3.Config.PreviousKeys) != 0 {
		t.Fatalf("previousKeys after purge %+v", e3.Config.PreviousKeys)
	}
	_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{At: ts1})
	wantCode(t, err, fail.Usage, "no version")
}

func TestShareRotateRefusals(t *testing.T) {
	m := newMachine(t)
	a, ts := setup(t, m, fileStoreURL(t))
	before := slices.Clone(m.kc.Accounts())

	// A clone that does not hold latest.
	b := m.newClone("b")
	if _, err := b.app.Pull(bg, b.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	b.write("dev", ".env.dev", "B\n")
	if _, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{})
	wantCode(t, err, fail.Refused, "does not hold the latest version")

	// A key from the environment cannot be rotated.
	m.env["VSYNC_KEY_DEV"] = mustKey(t, m, "acme_web/dev")
	_, err = b.app.Rotate(bg, b.app.Resolve(""), "dev", RotateOptions{})
	wantCode(t, err, fail.Refused, "environment")
	delete(m.env, "VSYNC_KEY_DEV")
	if !slices.Equal(m.kc.Accounts(), before) {
		t.Fatalf("refused rotate changed the keychain: %v", m.kc.Accounts())
	}

	// Remote advanced between reading latest and the swap: refused, orphan removed.
	e, _ := a.app.OpenEnv(a.app.Resolve(""), "dev")
	if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	latest, etag, _ := e.Latest(bg)
	b.write("dev", ".env.dev", "B2\n")
	if _, err := b.app.Push(bg, b.app.Resolve(""), "dev", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	n := len(bucket(t, a))
	aes, _, _, _ := e.Key(bg)
	_, _, err = a.app.publish(bg, e, aes, []byte("zip"), latest, etag, "rotate")
	wantCode(t, err, fail.Refused, "remote advanced")
	if len(bucket(t, a)) != n {
		t.Fatal("orphan version left in the store")
	}
	_ = ts
}

// failingSet is a keychain whose Set of one account fails.
type failingSet struct {
	keychain.Keychain
	account string
}

func (f failingSet) Set(ctx context.Context, account, secret string) error {
	if account == f.account {
		return &fail.Error{Code: fail.NotSetUp, What: "keychain says no", Err: keychain.ErrUnavailable}
	}
	return f.Keychain.Set(ctx, account, secret)
}

// A rotate that stops after the store write loses nothing: every version still
// opens on this machine.
func TestShareRotateInterrupted(t *testing.T) {
	m := newMachine(t)
	a, ts1 := setup(t, m, fileStoreURL(t))
	a.app.Keychain = failingSet{Keychain: m.kc, account: "acme_web/dev"}
	r, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{})
	if err == nil || !strings.Contains(fail.HintOf(err), "acme_web/dev#") {
		t.Fatalf("want a failure naming the parked key, got %v", err)
	}
	_ = r
	a.app.Keychain = m.kc
	c := m.newClone("c")
	if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatalf("pull of the re-sealed version: %v", err)
	}
	if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{At: ts1}); err != nil {
		t.Fatalf("pull of the old version: %v", err)
	}
	// Rotating again completes the job.
	if _, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.app.Rotate(bg, a.app.Resolve(""), "dev", RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.app.Pull(bg, c.app.Resolve(""), "dev", PullOptions{At: ts1}); err != nil && !errors.Is(err, nil) {
		t.Fatalf("old version after the second rotate: %v", err)
	}
}
