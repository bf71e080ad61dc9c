//go:build linux || darwin || freebsd || netbsd

package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/vault"
)

// TestExtractLinksWhatTheVaultHolds: unpacking with a vault.Reuse of the vault
// being replaced links every file that holds its entry's content (small ones,
// those the writers take, and streamed large ones), keeping their times, and
// writes the rest with the entry's content and date, same size or not.
func TestExtractLinksWhatTheVaultHolds(t *testing.T) {
	big := strings.Repeat(binary, memFileMax/len(binary)+2) // streamed, past memFileMax
	mid := binary                                           // a writer's, from writerMin to memFileMax
	newTree := map[string]string{
		"small": "small same", "small-changed": "small NEW!",
		"mid": mid, "mid-changed": "X" + mid[1:],
		"big": big, "big-changed": big[:len(big)-1] + "X",
		"added": "not in the old vault", "sub/small": "in a folder",
	}
	oldTree := map[string]string{
		"small": "small same", "small-changed": "small old!",
		"mid": mid, "mid-changed": mid,
		"big": big, "big-changed": big,
		"sub/small": "in a folder", "removed": "gone",
	}
	data := archive(t, newVault(t, newTree), "infra/vault/dev")

	old := newVault(t, oldTree)
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	chtimesAll(old, past)
	stats, err := vault.Stats(old)
	if err != nil {
		t.Fatal(err)
	}
	var known []vault.Known
	for _, f := range scan(t, old) {
		if !f.Dir {
			known = append(known, vault.Known{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Stat: stats[f.Path]})
		}
	}
	reuse := vault.NewReuse(old, known, time.Now(), time.Now())
	notAfter := time.Now().Add(-4 * time.Second).Truncate(time.Second)
	dest := filepath.Join(t.TempDir(), "stage")
	got, err := ExtractDatedAt(bytes.NewReader(data), int64(len(data)), dest, DefaultLimits, notAfter, reuse)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "extracted", got, scan(t, newVault(t, newTree)))
	sameFiles(t, "on disk", scan(t, dest), got)
	for _, p := range []string{"small", "mid", "big", "sub/small"} {
		a, _ := os.Lstat(filepath.Join(old, p))
		b, _ := os.Lstat(filepath.Join(dest, p))
		if !os.SameFile(a, b) {
			t.Errorf("%s holds the same content and was written, not linked", p)
		} else if !b.ModTime().Equal(past) {
			t.Errorf("linked %s is dated %v, not the vault file's %v", p, b.ModTime(), past)
		}
	}
	for _, p := range []string{"small-changed", "mid-changed", "big-changed", "added"} {
		b, _ := os.Lstat(filepath.Join(dest, p))
		if a, err := os.Lstat(filepath.Join(old, p)); err == nil && os.SameFile(a, b) {
			t.Errorf("%s has new content and was linked", p)
		}
		if !b.ModTime().Equal(notAfter) || b.Mode().Perm() != 0o600 {
			t.Errorf("written %s: %v, %v", p, b.Mode(), b.ModTime())
		}
	}
	// The old vault is as it was.
	sameFiles(t, "old vault", scan(t, old), scan(t, newVault(t, oldTree)))
}
