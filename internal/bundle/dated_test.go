package bundle

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExtractDatedAt: files without an archive time or with one at or after
// notAfter get notAfter, older ones keep theirs, whatever path writes them (small
// files here, mid-size ones by the writer goroutines, large ones streamed).
func TestExtractDatedAt(t *testing.T) {
	old := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	notAfter := time.Now().Add(-4 * time.Second).Truncate(time.Second)
	recent := time.Now().Add(time.Hour).Truncate(time.Second)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	type ent struct {
		name string
		mod  time.Time
		size int
		want time.Time
	}
	var ents []ent
	for _, size := range []int{10, writerMin + 1, memFileMax + 1} {
		ents = append(ents,
			ent{"v/none" + strings.Repeat("x", size%7), time.Time{}, size, notAfter},
			ent{"v/old" + strings.Repeat("x", size%7), old, size, old},
			ent{"v/recent" + strings.Repeat("x", size%7), recent, size, notAfter})
	}
	if _, err := zw.CreateHeader(&zip.FileHeader{Name: "v/", Method: zip.Store}); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store, Modified: e.mod})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte{'a'}, e.size))
	}
	zw.Close()
	dest := filepath.Join(t.TempDir(), "out")
	data := b.Bytes()
	if _, err := ExtractDatedAt(bytes.NewReader(data), int64(len(data)), dest, DefaultLimits, notAfter, nil); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dest, strings.TrimPrefix(e.name, "v/")))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(e.want) {
			t.Errorf("%s (%d bytes): modified %v, want %v", e.name, e.size, fi.ModTime(), e.want)
		}
	}
}
