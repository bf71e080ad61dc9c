package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/backup"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// TestHostileCorpus drives every input of testdata/hostile (bundles, pins,
// configs, `latest` answers, shares) through the command that meets it, and
// checks the exit code and message of testdata/hostile/expect.txt, and that the
// vault, the keychain and the backups stayed as they were.
func TestHostileCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "hostile")
	f, err := os.Open(filepath.Join(dir, "expect.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		name, code, want := fields[0], fields[1], strings.Join(fields[2:], " ")
		seen[name] = true
		wantCode, _ := strconv.Atoi(code)
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			err := runHostile(t, strings.Split(name, "/")[0], data)
			if int(fail.CodeOf(err)) != wantCode || err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("want exit %d with %q, got exit %d: %v", wantCode, want, fail.CodeOf(err), err)
			}
		})
	}
	// Every file of the corpus is checked.
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		if !seen[filepath.ToSlash(rel)] {
			t.Errorf("%s has no line in expect.txt", rel)
		}
	}
}

// runHostile feeds one hostile input of kind to a fresh clone and returns the
// command's error, after checking that nothing local changed.
func runHostile(t *testing.T, kind string, data []byte) error {
	m := newMachine(t)
	storeURL := fileStoreURL(t)
	a, _ := setup(t, m, storeURL)
	e, err := a.app.OpenEnv(a.app.Resolve(""), "dev")
	if err != nil {
		t.Fatal(err)
	}
	vaultBefore := tree(t, a.vault("dev"))
	backupsBefore, _ := backup.List(e.ConfigRoot, "acme_web", "dev")
	defer func() {
		if kind == "pin" || kind == "config" {
			return // the command never got as far as the vault
		}
		sameTree(t, tree(t, a.vault("dev")), vaultBefore)
		if after, _ := backup.List(e.ConfigRoot, "acme_web", "dev"); len(after) != len(backupsBefore) {
			t.Fatalf("a refused command wrote a backup")
		}
	}()
	switch kind {
	case "bundle":
		key, _, _, err := e.Key(bg)
		if err != nil {
			t.Fatal(err)
		}
		const ts = "20990101-000000"
		sealed, err := rqe1.Seal(key, rqem.Seal(ts, data))
		if err != nil {
			t.Fatal(err)
		}
		putObject(t, a, e.VersionKey(ts), sealed)
		putObject(t, a, e.LatestKey(), []byte(ts))
		_, err = a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
		return err
	case "latest":
		putObject(t, a, e.LatestKey(), data)
		_, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
		return err
	case "pin":
		os.WriteFile(filepath.Join(a.dir, ".vsync"), data, 0o644)
		_, err := a.app.Status(bg, a.app.Resolve(""), false)
		return err
	case "config":
		ep := strings.TrimSuffix(storeURL, "#team")
		data = bytes.ReplaceAll(data, []byte("ENDPOINT"), []byte(ep))
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		if err := os.WriteFile(e.ConfigPath("dev"), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := a.app.Pull(bg, a.app.Resolve(""), "dev", PullOptions{})
		return err
	case "share":
		var payload map[string]any
		if err := json.Unmarshal(data, &payload); err != nil {
			t.Fatal(err)
		}
		p := writeFile(t, m.home, "x.share", tsShare(t, "pp", payload))
		m2 := newMachine(t)
		c := m2.newClone("c")
		_, err := c.app.Import(bg, c.app.Resolve(""), "dev", p, "pp", ImportOptions{NoHooks: true})
		if n := len(m2.kc.Accounts()); n != 0 {
			t.Fatalf("a refused import wrote %d keychain entries", n)
		}
		return err
	}
	t.Fatalf("unknown corpus kind %q", kind)
	return nil
}
