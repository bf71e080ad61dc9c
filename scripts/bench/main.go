// Command bench times whole git-vsync commands against the file store and against
// versitygw and prints them beside the SPEC §12 budget. It is run by `make bench`
// (inside scripts/ci-env.sh, so a throw-away keychain holds the keys) with the
// product binary: the real PBKDF2 cost, no test hooks.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

var (
	bin   = flag.String("bin", "bin/git-vsync", "the git-vsync binary to time")
	reps  = flag.Int("reps", 5, "repetitions of the small-vault measurements (median reported)")
	files = flag.Int("files", 2000, "files of the large vault")
	size  = flag.Int("size", 50<<10, "bytes per file of the large vault")
	only  = flag.String("only", "", "run only this backend (file or versitygw)")
)

type result struct {
	backend, what string
	wall          time.Duration
	maxRSS        int64 // KiB
	budget        string
}

func main() {
	flag.Parse()
	abs, err := filepath.Abs(*bin)
	check(err)
	*bin = abs
	var results []result
	for _, backend := range []string{"file", "versitygw"} {
		if *only != "" && *only != backend {
			continue
		}
		results = append(results, runBackend(backend)...)
	}
	testenv.StopAll()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tMEASUREMENT\tWALL\tPEAK RSS\tSPEC §12 BUDGET")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f MiB\t%s\n", r.backend, r.what, r.wall.Round(100*time.Microsecond), float64(r.maxRSS)/1024, r.budget)
	}
	tw.Flush()
}

func runBackend(backend string) []result {
	work, err := os.MkdirTemp("", "vsync-bench-")
	check(err)
	defer os.RemoveAll(work)
	env := append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(work, "config"),
		"XDG_DATA_HOME="+filepath.Join(work, "data"),
		"GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b",
	)
	storeURL := "file://" + filepath.Join(work, "store")
	if backend == "versitygw" {
		srv, err := testenv.SharedVersitygw()
		check(err)
		bucket, err := srv.CreateBucket()
		check(err)
		storeURL = srv.Endpoint + "/" + bucket
		env = append(env, "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey)
	}
	sh := func(dir string, args ...string) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			fail("%v: %v\n%s", args, err, out)
		}
	}
	timed := func(dir string, args ...string) (time.Duration, int64) {
		cmd := exec.Command(*bin, args...)
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			fail("git-vsync %v: %v\n%s", args, err, out.String())
		}
		ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		var rss int64
		if ru != nil {
			rss = ru.Maxrss
		}
		return d, rss
	}
	a, b := filepath.Join(work, "a"), filepath.Join(work, "b")
	sh(work, "git", "init", "-q", a)
	sh(work, "git", "init", "-q", b)
	sh(a, *bin, "init", "dev", "--repo", "bench_"+backend, "--store", storeURL, "--no-hooks")
	// Clone b shares the machine's halves through the same identity.
	check(os.WriteFile(filepath.Join(b, ".vsync"), []byte("repo=bench_"+backend+"\n"), 0o644))
	check(os.WriteFile(filepath.Join(b, ".gitignore"), []byte("/infra/vault/\n"), 0o644)) // pull refuses a vault git does not ignore
	vaultA := filepath.Join(a, "infra", "vault", "dev")

	var res []result
	add := func(what, budget string, d time.Duration, rss int64) {
		res = append(res, result{backend, what, d, rss, budget})
	}
	median := func(f func(i int) (time.Duration, int64)) (time.Duration, int64) {
		var ds []time.Duration
		var rss int64
		for i := 0; i < *reps; i++ {
			d, r := f(i)
			ds = append(ds, d)
			rss = max(rss, r)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], rss
	}

	// Small vault: a dotenv and two small files.
	check(os.MkdirAll(filepath.Join(vaultA, "tls"), 0o700))
	writeRandom(filepath.Join(vaultA, "tls", "server.key"), 3000)
	writeRandom(filepath.Join(vaultA, "tls", "server.crt"), 2000)
	d, rss := median(func(i int) (time.Duration, int64) {
		check(os.WriteFile(filepath.Join(vaultA, ".env.dev"), []byte(fmt.Sprintf("API_TOKEN=%d\n", i)), 0o600))
		return timed(a, "push", "dev")
	})
	add("push, small vault", "KDF (~85 ms) + 2-3 round trips + ≤ 20 ms", d, rss)
	d, rss = median(func(i int) (time.Duration, int64) {
		check(os.WriteFile(filepath.Join(vaultA, ".env.dev"), []byte(fmt.Sprintf("API_TOKEN=b%d\n", i)), 0o600))
		timed(a, "push", "dev")
		return timed(b, "pull", "dev")
	})
	add("pull, small vault", "KDF (~85 ms) + 2-3 round trips + ≤ 20 ms", d, rss)
	d, rss = median(func(int) (time.Duration, int64) { return timed(b, "pull", "dev") })
	add("pull, up to date", "1 small request + ≤ 15 ms", d, rss)
	d, rss = median(func(int) (time.Duration, int64) {
		cmd := exec.Command(*bin, "--version")
		start := time.Now()
		check(cmd.Run())
		return time.Since(start), 0
	})
	add("process start (--version)", "(reference)", d, rss)

	// Large vault: many files, incompressible content.
	check(os.RemoveAll(vaultA))
	check(os.MkdirAll(vaultA, 0o700))
	for i := 0; i < *files; i++ {
		sub := filepath.Join(vaultA, fmt.Sprintf("d%02d", i%20))
		check(os.MkdirAll(sub, 0o700))
		writeRandom(filepath.Join(sub, fmt.Sprintf("f%04d.bin", i)), *size)
	}
	total := fmt.Sprintf("%d files / %d MB", *files, *files**size>>20)
	d, rss = timed(a, "push", "dev")
	add("push, "+total, fmt.Sprintf("linear; peak RSS < 64 MiB + largest file (%d KiB)", *size>>10), d, rss)
	d, rss = timed(b, "pull", "dev")
	add("pull, "+total, fmt.Sprintf("linear; peak RSS < 64 MiB + largest file (%d KiB)", *size>>10), d, rss)
	d, rss = timed(b, "pull", "dev")
	add("pull up to date, "+total, "1 small request + ≤ 15 ms (+ a stat of each file)", d, rss)

	// The other commands that move a whole bundle: rotate re-seals the latest one,
	// pull --force over a large vault backs it up first, restore brings that back.
	budget := fmt.Sprintf("peak RSS < 64 MiB + largest file (%d KiB)", *size>>10)
	d, rss = timed(a, "rotate", "dev")
	add("rotate, "+total, budget, d, rss)
	vaultB := filepath.Join(b, "infra", "vault", "dev")
	writeRandom(filepath.Join(vaultB, "d00", "f0000.bin"), *size)
	d, rss = timed(b, "pull", "dev", "--force")
	add("pull --force over the vault, "+total, budget+"; backs up the vault", d, rss)
	cmd := exec.Command(*bin, "restore", "dev", "--json")
	cmd.Dir, cmd.Env = b, env
	out, err := cmd.Output()
	check(err)
	var backups []struct{ ID string }
	check(json.Unmarshal(out, &backups))
	if len(backups) == 0 {
		fail("no backup to restore")
	}
	d, rss = timed(b, "restore", "dev", backups[0].ID)
	add("restore, "+total, budget+"; backs up the vault", d, rss)
	return res
}

func writeRandom(path string, n int) {
	b := make([]byte, n)
	rand.Read(b)
	check(os.WriteFile(path, b, 0o600))
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+strings.TrimSpace(format)+"\n", args...)
	testenv.StopAll()
	os.Exit(1)
}
