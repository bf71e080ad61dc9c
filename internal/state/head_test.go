package state

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bigState is a state whose file is larger than LoadHead's head.
func bigState(n int) *State {
	s := &State{Repo: "acme/app", Env: "dev", TS: "20260101-000000", Seen: "20260101-000000", ETag: `"e"`, Op: "pull",
		Time: time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), StatTime: time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC), KeyFP: "0011223344556677"}
	s.Files = append(s.Files, File{Path: "d", Dir: true})
	for i := range n {
		s.Files = append(s.Files, File{Path: fmt.Sprintf("d/f%05d", i), Size: 2048,
			SHA256: strings.Repeat("ab", 32), Stat: fmt.Sprintf("2048:1767225600000000000:1767225600000000000:2049:%d", 1000+i)})
	}
	return s
}

// TestLoadHeadReadsOnlyTheHead: a large state Save wrote comes back Partial,
// with every field but its files; saving it (a pull that records a newer
// `latest`) reads the files first and keeps them all.
func TestLoadHeadReadsOnlyTheHead(t *testing.T) {
	dir := t.TempDir()
	in := bigState(200)
	if err := Save(dir, in); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(Path(dir, "dev")); fi.Size() <= headBytes {
		t.Fatalf("the test state is only %d bytes", fi.Size())
	}
	if in.StatDigest == "" || in.StatDigest != statDigest(in.Files) {
		t.Fatalf("Save recorded the stat digest %q", in.StatDigest)
	}
	h, err := LoadHead(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Partial() || h.Files != nil {
		t.Fatalf("LoadHead read the files of a large state (partial %v, %d files)", h.Partial(), len(h.Files))
	}
	want := *in
	want.Files = nil
	got := *h
	got.from = ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("head %+v\nwant %+v", got, want)
	}

	h.Seen, h.ETag = "20260102-000000", `"f"`
	if err := Save(dir, h); err != nil {
		t.Fatal(err)
	}
	if h.Partial() || len(h.Files) != len(in.Files) {
		t.Fatalf("saving a head left it partial (%v) with %d files", h.Partial(), len(h.Files))
	}
	out, err := Load(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if out.Seen != "20260102-000000" || out.ETag != `"f"` || !reflect.DeepEqual(out.Files, in.Files) || out.StatDigest != in.StatDigest {
		t.Fatalf("after saving a head: seen %s etag %s, %d files (want %d), digest %s", out.Seen, out.ETag, len(out.Files), len(in.Files), out.StatDigest)
	}
}

// TestSaveOfAHeadWhoseFileChanged: a Partial state is not saved over another
// record written since it was read (its files would not be its own).
func TestSaveOfAHeadWhoseFileChanged(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, bigState(200)); err != nil {
		t.Fatal(err)
	}
	h, err := LoadHead(dir, "dev")
	if err != nil || !h.Partial() {
		t.Fatalf("%v partial %v", err, h != nil && h.Partial())
	}
	other := bigState(201)
	other.TS, other.Time = "20260103-000000", other.Time.Add(time.Hour)
	if err := Save(dir, other); err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, h); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("saving a head over a newer record: %v", err)
	}
	if s, err := Load(dir, "dev"); err != nil || s.TS != other.TS || len(s.Files) != len(other.Files) {
		t.Fatalf("the newer record was overwritten: %v", err)
	}
}

// TestLoadHeadReadsOtherStatesWhole: small states, states of earlier versions
// (no digest, files not last), a state with a file that has no stat key (no
// digest) and a head that does not parse are read whole, as Load reads them.
func TestLoadHeadReadsOtherStatesWhole(t *testing.T) {
	dir := t.TempDir()
	check := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(Path(dir, "dev"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := LoadHead(dir, "dev")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		full, err := Load(dir, "dev")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.Partial() || !reflect.DeepEqual(h, full) {
			t.Fatalf("%s: LoadHead gave partial %v, %d files, not what Load gives (%d files)", name, h.Partial(), len(h.Files), len(full.Files))
		}
	}
	small := bigState(3)
	if err := Save(dir, small); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(Path(dir, "dev"))
	check("small", data)

	// As git-vsync wrote states before the digest: files before stat_time.
	s := bigState(200)
	old := fmt.Sprintf(`{"version":1,"repo":"acme/app","env":"dev","ts":"%s","seen":"%s","etag":"\"e\"","op":"pull","time":"2026-01-01T00:00:01Z","files":[`, s.TS, s.Seen)
	for i, f := range s.Files {
		if i > 0 {
			old += ","
		}
		if f.Dir {
			old += fmt.Sprintf(`{"path":%q,"size":0,"dir":true}`, f.Path)
		} else {
			old += fmt.Sprintf(`{"path":%q,"size":%d,"sha256":%q,"stat":%q}`, f.Path, f.Size, f.SHA256, f.Stat)
		}
	}
	old += `],"stat_time":"2026-01-01T00:00:02Z","key_fp":"0011223344556677"}` + "\n"
	check("before the digest", []byte(old))

	nokey := bigState(200)
	nokey.Files[5].Stat = ""
	if err := Save(dir, nokey); err != nil {
		t.Fatal(err)
	}
	if nokey.StatDigest != "" {
		t.Fatal("a digest was recorded over a file without a stat key")
	}
	data, _ = os.ReadFile(Path(dir, "dev"))
	check("a file without a stat key", data)

	if err := Save(dir, bigState(200)); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(Path(dir, "dev"))
	check("a key spelt otherwise", []byte(strings.Replace(string(data), `"stat_digest"`, `"Stat_digest"`, 1)))
}

// TestLoadHeadOfABrokenState: a large state cut short or damaged after its head
// is read whole and refused with the path named, never taken as a head.
func TestLoadHeadOfABrokenState(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, bigState(200)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(Path(dir, "dev"))
	for name, bad := range map[string][]byte{
		"cut":      data[:len(data)-1000],
		"cut at ]": data[:len(data)-2],
		"tail":     append(data[:len(data)-3:len(data)-3], "}}\n"...),
	} {
		if err := os.WriteFile(Path(dir, "dev"), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := LoadHead(dir, "dev")
		if err == nil || !strings.Contains(err.Error(), Path(dir, "dev")) {
			t.Errorf("%s: LoadHead gave %v, %v", name, h != nil, err)
		}
	}
	if err := os.Remove(Path(dir, "dev")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(Path(dir, "dev"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHead(dir, "dev"); err == nil {
		t.Error("a folder in place of the state was read")
	}
	if err := os.Remove(Path(dir, "dev")); err != nil {
		t.Fatal(err)
	}
	if h, err := LoadHead(dir, "dev"); h != nil || err != nil {
		t.Errorf("no state: %v %v", h, err)
	}
	if err := os.Symlink("/dev/zero", Path(dir, "dev")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHead(dir, "dev"); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("a link in place of the state: %v", err)
	}
}

// TestStatDigestRecords: the digest tells apart listings that differ in any
// path, kind, size or stat key, and records no digest it could not match.
func TestStatDigestRecords(t *testing.T) {
	base := []File{{Path: "a", Dir: true}, {Path: "a/b", Size: 1, SHA256: "00", Stat: "1:2:3:4:5"}}
	seen := map[string]string{statDigest(base): "base"}
	for name, fs := range map[string][]File{
		"path":       {{Path: "a", Dir: true}, {Path: "a/c", Size: 1, SHA256: "00", Stat: "1:2:3:4:5"}},
		"kind":       {{Path: "a", Dir: true}, {Path: "a/b", Dir: true}},
		"size":       {{Path: "a", Dir: true}, {Path: "a/b", Size: 2, SHA256: "00", Stat: "1:2:3:4:5"}},
		"stat":       {{Path: "a", Dir: true}, {Path: "a/b", Size: 1, SHA256: "00", Stat: "1:2:3:4:6"}},
		"fewer":      {{Path: "a", Dir: true}},
		"none":       nil,
		"name split": {{Path: "a", Dir: true}, {Path: "a/b\x00f1:1:2:3:4:5\x00", Dir: true}},
	} {
		d := statDigest(fs)
		if d == "" {
			t.Fatalf("%s: no digest", name)
		}
		if other, dup := seen[d]; dup {
			t.Errorf("%s has the digest of %s", name, other)
		}
		seen[d] = name
	}
	if statDigest([]File{{Path: "b", Dir: true}, {Path: "a", Dir: true}}) != "" {
		t.Error("a digest over files out of path order")
	}
	if statDigest([]File{{Path: "a", Size: 1, Stat: "1:2:3:4:5"}}) != "" {
		t.Error("a digest over a file without a hash")
	}
	for _, bad := range []string{"", "1:2:x:4:5", "1:2:3:4:", "01:2:3:4:5", "+1:2:3:4:5", "1:2:3:4:9223372036854775808", "1:2:3:4:5:6:7:8:9"} {
		if statDigest([]File{{Path: "a", Size: 1, SHA256: "00", Stat: bad}}) != "" {
			t.Errorf("a digest over the stat key %q", bad)
		}
	}
	// The walk's side: the same records through Add.
	d := NewDigest()
	d.Add("a", true, 0, nil)
	d.Add("a/b", false, 1, []uint64{1, 2, 3, 4, 5})
	if d.Sum() != statDigest(base) {
		t.Error("Add and statDigest disagree")
	}
	if f, ok := KeyFields("2048:-1:0:18:9223372036854775807", nil); !ok || !reflect.DeepEqual(f, []uint64{2048, 1<<64 - 1, 0, 18, 1<<63 - 1}) {
		t.Errorf("KeyFields: %v %v", f, ok)
	}
}
