package bundle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func plannedFile(name string, size uint64) *planned {
	return &planned{f: &zip.File{FileHeader: zip.FileHeader{Name: name, UncompressedSize64: size}}, path: name}
}

// splitLanes keeps every folder's files in one lane, balances the lanes' work,
// keeps path order in each, and gives one lane when a split would not pay.
func TestSplitLanes(t *testing.T) {
	mk := func(sizes map[string]uint64) ([]string, map[string]*planned, []int) {
		var paths []string
		for p := range sizes {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		kind := map[string]*planned{}
		var files []int
		for i, p := range paths {
			kind[p] = plannedFile(p, sizes[p])
			files = append(files, i)
		}
		return paths, kind, files
	}
	sizes := map[string]uint64{}
	for d := 0; d < 6; d++ {
		for f := 0; f < 10+d; f++ {
			sizes[fmt.Sprintf("d%d/f%02d", d, f)] = 50 << 10
		}
	}
	paths, kind, files := mk(sizes)
	lanes := splitLanes(paths, kind, files)
	if len(lanes) != unpackLanes {
		t.Fatalf("%d lanes for 6 folders", len(lanes))
	}
	seen := map[int]int{}
	for l, idx := range lanes {
		dirs := map[string]bool{}
		for k, i := range idx {
			if k > 0 && idx[k-1] >= i {
				t.Fatalf("lane %d is not in path order: %v", l, idx)
			}
			seen[i]++
			dirs[filepath.Dir(paths[i])] = true
		}
		for other, oidx := range lanes {
			for _, i := range oidx {
				if other != l && dirs[filepath.Dir(paths[i])] {
					t.Fatalf("folder %s is in two lanes", filepath.Dir(paths[i]))
				}
			}
		}
		if n := len(idx); n < len(files)/3 {
			t.Fatalf("lane %d has %d of %d files", l, n, len(files))
		}
	}
	if len(seen) != len(files) {
		t.Fatalf("%d of %d files in the lanes", len(seen), len(files))
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("%s is in %d lanes", paths[i], n)
		}
	}

	// One folder, and a split where one lane would do almost nothing: one lane.
	for what, sizes := range map[string]map[string]uint64{
		"one folder": {"a": 1, "b": 2, "c": 3},
		"uneven":     {"big/a": 100 << 20, "small/b": 10, "small/c": 10},
	} {
		paths, kind, files := mk(sizes)
		if lanes := splitLanes(paths, kind, files); len(lanes) != 1 || !reflect.DeepEqual(lanes[0], files) {
			t.Fatalf("%s: lanes %v", what, lanes)
		}
	}
}

// A vault of many folders is unpacked by two lanes at once, with small files,
// files for the writers and a streamed large one: the result, the files, their
// times and modes are those of the vault.
func TestExtractLanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tree := map[string]string{}
	for d := 0; d < 6; d++ {
		for f := 0; f < 12; f++ {
			n := []int{100, 40 << 10, 200 << 10}[f%3]
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			tree[fmt.Sprintf("d%d/f%02d.bin", d, f)] = string(b)
		}
	}
	tree["d5/large.bin"] = strings.Repeat("incompressible? no, but streamed ", (memFileMax+100)/33)
	src := newVault(t, tree)
	data := archive(t, src, "infra/vault/dev")
	_, entries, err := plan(bytes.NewReader(data), int64(len(data)), DefaultLimits.effective())
	if err != nil {
		t.Fatal(err)
	}
	paths, kind := layout(entries)
	var files []int
	for i, p := range paths {
		if e := kind[p]; e != nil && !e.dir {
			files = append(files, i)
		}
	}
	if lanes := splitLanes(paths, kind, files); len(lanes) != unpackLanes {
		t.Fatalf("the test vault makes %d lanes", len(lanes))
	}
	dest := filepath.Join(t.TempDir(), "stage")
	got, err := Extract(data, dest, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := scan(t, src)
	sameFiles(t, "Extract result", got, want)
	sameFiles(t, "Scan after Extract", scan(t, dest), want)
	if got, want := fileTimes(t, dest), fileTimes(t, src); !reflect.DeepEqual(got, want) {
		t.Fatalf("times after Extract:\n got %v\nwant %v", got, want)
	}
}

// A bad entry in one lane stops the other and the unpacking fails with that
// entry's error; the stage is left empty.
func TestExtractLaneFailureStopsAll(t *testing.T) {
	var ents []zent
	ents = append(ents, zent{name: "v/", dir: true})
	for d := 0; d < 4; d++ {
		for f := 0; f < 30; f++ {
			ents = append(ents, zent{name: fmt.Sprintf("v/d%d/f%02d", d, f), body: strings.Repeat("x", 40<<10)})
		}
	}
	body := []byte(strings.Repeat("y", 40<<10))
	bad := rawFile("v/d3/zz", zip.Store, 0, body, crc32.ChecksumIEEE(body)^1, uint64(len(body)), uint64(len(body)))
	ents = append(ents, bad)
	data := buildZip(t, ents)
	dest := filepath.Join(t.TempDir(), "stage")
	_, err := Extract(data, dest, DefaultLimits)
	var he *HostileError
	if !errors.As(err, &he) || he.Entry != "v/d3/zz" {
		t.Fatalf("want the bad entry's error, got %v", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		names, _ := readNames(dest)
		t.Fatalf("the stage is left: %v %v", names, err)
	}
}
