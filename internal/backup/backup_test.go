package backup

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// A backup is listed only once published; a discarded or failed one leaves
// nothing; Prune removes the temp files of commands that died, not young ones.
func TestPendingPublishDiscardPrune(t *testing.T) {
	root := t.TempDir()
	key := make([]byte, 32)
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	zip := func(w io.Writer) error { _, err := io.WriteString(w, "zip bytes"); return err }
	dir := Dir(root, "r", "dev")

	p, err := Begin(root, "r", "dev", key, now, zip)
	if err != nil {
		t.Fatal(err)
	}
	if bs, _ := List(root, "r", "dev"); len(bs) != 0 {
		t.Fatalf("listed before Publish: %v", bs)
	}
	b, err := p.Publish()
	if err != nil {
		t.Fatal(err)
	}
	if bs, _ := List(root, "r", "dev"); len(bs) != 1 || bs[0].ID != "20261201-060000" || bs[0].Size != b.Size {
		t.Fatalf("after Publish: %+v", bs)
	}
	r, err := OpenReader(b, key)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, r.Size())
	if _, err := r.ReadAt(got, 0); err != nil || string(got) != "zip bytes" {
		t.Fatalf("backup holds %q, %v", got, err)
	}
	r.Close()

	// Same second: the next one gets "-2".
	p, _ = Begin(root, "r", "dev", key, now, zip)
	if b2, err := p.Publish(); err != nil || b2.ID != "20261201-060000-2" {
		t.Fatalf("second backup: %+v %v", b2, err)
	}

	p, _ = Begin(root, "r", "dev", key, now, zip)
	p.Discard()
	boom := errors.New("boom")
	if _, err := Begin(root, "r", "dev", key, now, func(io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Begin with a failing write: %v", err)
	}
	if n := names(t, dir); len(n) != 2 {
		t.Fatalf("a discarded or failed backup left files: %v", n)
	}

	// Temp files: one of a command that died long ago, one being written now.
	old := filepath.Join(dir, ".20261130-000000.zip.enc.tmp-1")
	young := filepath.Join(dir, ".20261201-060000.zip.enc.tmp-2")
	for _, f := range []string{old, young} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * staleTemp)
	os.Chtimes(old, long, long)
	if err := Prune(b); err != nil {
		t.Fatal(err)
	}
	left := strings.Join(names(t, dir), " ")
	if strings.Contains(left, ".tmp-1") || !strings.Contains(left, ".tmp-2") {
		t.Fatalf("after Prune: %s", left)
	}
}
