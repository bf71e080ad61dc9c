package vault

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestScanKnownTrustsOnlyAnUnchangedStat(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd":
	default:
		t.Skip("no stat keys on " + runtime.GOOS + ": every scan hashes")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a")
	if err := os.WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-10 * time.Second)
	os.Chtimes(p, past, past)
	stats, err := Stats(dir)
	if err != nil || stats["a"] == "" {
		t.Fatalf("no stat recorded: %v %v", stats, err)
	}
	known := []Known{{Path: "a", SHA256: "recorded-hash", Stat: stats["a"]}}
	now := time.Now()

	// Same stat, modified before the racy moment: the recorded hash is reused
	// (the file is not read, so the made-up hash comes back).
	got, err := ScanKnown(dir, known, now)
	if err != nil || got[0].SHA256 != "recorded-hash" {
		t.Fatalf("stat cache not used: %+v %v", got, err)
	}
	// Modified at or after the racy moment: always hashed.
	got, _ = ScanKnown(dir, known, past)
	if got[0].SHA256 == "recorded-hash" {
		t.Fatal("a racily clean file was trusted")
	}
	// A rewrite with the same size that even restores the modification time is
	// still seen (the change time moves).
	if err := os.WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, past, past)
	got, _ = ScanKnown(dir, known, now)
	if got[0].SHA256 == "recorded-hash" {
		t.Fatal("a same-size rewrite with a restored mtime went unseen")
	}
	plain, _ := Scan(dir)
	if got[0].SHA256 != plain[0].SHA256 {
		t.Fatal("ScanKnown and Scan disagree on a changed file")
	}
}
