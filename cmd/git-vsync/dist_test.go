package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// make dist names one archive per target (zip for windows) and SHA256SUMS.
func TestDistListsEveryTarget(t *testing.T) {
	bash := testenv.NeedCommand(t, "bash")
	cmd := exec.Command(bash, "../../scripts/dist.sh", "--list")
	cmd.Env = append(os.Environ(), "VERSION=v9.9.9")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dist.sh --list: %v", err)
	}
	want := []string{
		"git-vsync_v9.9.9_linux_amd64.tar.gz", "git-vsync_v9.9.9_linux_arm64.tar.gz",
		"git-vsync_v9.9.9_darwin_amd64.tar.gz", "git-vsync_v9.9.9_darwin_arm64.tar.gz",
		"git-vsync_v9.9.9_windows_amd64.zip", "git-vsync_v9.9.9_windows_arm64.zip",
		"SHA256SUMS",
	}
	if got := strings.Fields(string(out)); !slices.Equal(got, want) {
		t.Fatalf("dist.sh --list:\n got %q\nwant %q", got, want)
	}
}

// One real target (this machine's, so the packages compiled for the tests are reused):
// the archive holds the binary, which prints the stamped version, the man pages, the
// three completions, README and LICENSE; SHA256SUMS matches the archive's bytes.
func TestDistBuildsOneArchive(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("dist.sh runs on the Linux release runner")
	}
	bash := testenv.NeedCommand(t, "bash")
	testenv.NeedCommand(t, "tar")
	testenv.NeedCommand(t, "git")
	out := t.TempDir()
	target := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command(bash, "../../scripts/dist.sh")
	cmd.Env = append(os.Environ(), "VERSION=v9.9.9-test", "DIST_DIR="+out, "DIST_TARGETS="+target)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dist.sh: %v\n%s", err, b)
	}
	name := "git-vsync_v9.9.9-test_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
	archive := filepath.Join(out, name)
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}

	sums, err := os.Open(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	digest := sha256.Sum256(data)
	var lines []string
	for sc := bufio.NewScanner(sums); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	if want := hex.EncodeToString(digest[:]) + "  " + name; len(lines) != 1 || lines[0] != want {
		t.Fatalf("SHA256SUMS = %q, want %q", lines, want)
	}

	dir := strings.TrimSuffix(name, ".tar.gz") + "/"
	zr, err := gzip.NewReader(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Name, dir) {
			t.Fatalf("%s outside the archive's folder %s", h.Name, dir)
		}
		if h.Typeflag == tar.TypeReg {
			files[strings.TrimPrefix(h.Name, dir)] = true
			if h.Name == dir+"git-vsync" {
				bin := filepath.Join(t.TempDir(), "git-vsync")
				f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o700)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(f, tr); err != nil {
					t.Fatal(err)
				}
				f.Close()
				v, err := exec.Command(bin, "--version").Output()
				if err != nil || strings.TrimSpace(string(v)) != "git-vsync v9.9.9-test" {
					t.Fatalf("archived binary --version = %q, %v", v, err)
				}
			}
		}
	}
	for _, f := range []string{"git-vsync", "README.md", "LICENSE", "man/man1/git-vsync.1", "man/man1/git-vsync-push.1",
		"completions/git-vsync.bash", "completions/_git-vsync", "completions/git-vsync.fish"} {
		if !files[f] {
			t.Errorf("archive lacks %s; has %v", f, files)
		}
	}
}
