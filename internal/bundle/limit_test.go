package bundle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// TestDefaultEntryLimit: an archive of exactly DefaultLimits.MaxEntries entries
// (more than 65,535, so zip64 end records) is read; one more entry is refused as
// hostile before anything is unpacked.
func TestDefaultEntryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds archives of 100,000 entries")
	}
	build := func(n int) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: "v/", Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < n; i++ {
			if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("v/d%03d/f%06d", i/1000, i), Method: zip.Store}); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	n := DefaultLimits.MaxEntries
	ents, err := List(build(n), DefaultLimits)
	if err != nil {
		t.Fatalf("%d entries: %v", n, err)
	}
	if len(ents) < n-1 {
		t.Fatalf("listed %d entries of %d", len(ents), n)
	}
	_, err = List(build(n+1), DefaultLimits)
	var he *HostileError
	if !errors.As(err, &he) || he.Reason != ReasonTooMany {
		t.Fatalf("%d entries: want %q, got %v", n+1, ReasonTooMany, err)
	}
}
