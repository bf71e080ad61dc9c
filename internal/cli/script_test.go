package cli

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestMain lets testscript run git-vsync in-process: `exec git-vsync …` and
// `exec git vsync …` (git finds git-vsync on PATH) both run cli.Main.
func TestMain(m *testing.M) {
	defer testenv.StopAll()
	testscript.Main(m, map[string]func(){
		"git-vsync": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"dumpenv":   dumpEnv,
		"vsyncread": vsyncRead,
	})
}

// passEnv are the variables the scripts inherit: the D-Bus session of the real
// keychain, CI, and the coverage folder.
var passEnv = []string{"DBUS_SESSION_BUS_ADDRESS", "CI", "XDG_RUNTIME_DIR", "GOCOVERDIR"}

func scriptParams(t *testing.T, dir string) testscript.Params {
	git := testenv.NeedCommand(t, "git")
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			for _, k := range passEnv {
				if v, ok := os.LookupEnv(k); ok {
					e.Setenv(k, v)
				}
			}
			home := filepath.Join(e.WorkDir, ".home")
			os.MkdirAll(home, 0o700)
			for k, v := range testenv.MachineEnv(home) {
				e.Setenv(k, v)
			}
			e.Setenv("PATH", filepath.Dir(git)+string(os.PathListSeparator)+e.Getenv("PATH"))
			// Every account a script touches is unique to it, so parallel scripts
			// sharing one keychain never see each other's entries.
			e.Setenv("UNIQ", strings.ReplaceAll(filepath.Base(e.WorkDir), "-", "_"))
			return nil
		},
		// [!keyring] skip: no Secret Service here; under CI=true that is an error.
		// [!man], [!zsh], [!fish] skip: that program is not installed
		// (scripts/install-test-deps.sh installs them); under CI=true an error.
		Condition: func(cond string) (bool, error) {
			if cond == "man" || cond == "zsh" || cond == "fish" {
				if _, err := exec.LookPath(cond); err != nil {
					if testenv.InCI() {
						return false, fmt.Errorf("CI=true and no %s on PATH: run scripts/install-test-deps.sh", cond)
					}
					return false, nil
				}
				return true, nil
			}
			if cond != "keyring" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
				if testenv.InCI() {
					return false, fmt.Errorf("CI=true and no D-Bus session bus: run the tests through scripts/ci-env.sh")
				}
				return false, nil
			}
			return true, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"gzipfile":   cmdGzipFile,
			"linkbin":    cmdLinkBin,
			"dotenvjson": cmdDotenvJSON,
			"silentep":   cmdSilentEndpoint,
			"stallproxy": cmdStallProxy,
		},
	}
}

// cmdGzipFile: gzipfile SRC DST — writes gzip(SRC) to DST with mode 0600, as the
// TypeScript tool writes its config files.
func cmdGzipFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: gzipfile SRC DST")
	}
	src := ts.ReadFile(args[0])
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(strings.TrimSpace(src)))
	zw.Close()
	dst := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o700))
	ts.Check(os.WriteFile(dst, b.Bytes(), 0o600))
}

// cmdLinkBin: linkbin NAME DIR — links the program NAME found on the script's
// PATH into DIR, to lay out an installed prefix (DIR/../share/man beside it).
func cmdLinkBin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: linkbin NAME DIR")
	}
	for _, d := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(d, args[0])
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			dir := ts.MkAbs(args[1])
			ts.Check(os.MkdirAll(dir, 0o755))
			ts.Check(os.Symlink(p, filepath.Join(dir, args[0])))
			return
		}
	}
	ts.Fatalf("%s is not on PATH", args[0])
}

// cmdSilentEndpoint: silentep VAR — starts a server that accepts connections
// but never answers, and sets VAR to its http:// endpoint.
func cmdSilentEndpoint(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: silentep VAR")
	}
	ep, stop, err := testenv.ListenSilent()
	ts.Check(err)
	ts.Defer(stop)
	ts.Setenv(args[0], ep)
}

// cmdStallProxy: stallproxy VAR UPSTREAM PATH BYTES — starts a proxy to UPSTREAM
// that sends the headers and the first BYTES bytes of the body of every GET
// whose path contains PATH, then holds the connection open (testenv.FaultProxy,
// StallDownload), and sets VAR to its http:// endpoint.
func cmdStallProxy(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 4 {
		ts.Fatalf("usage: stallproxy VAR UPSTREAM PATH BYTES")
	}
	n, err := strconv.ParseInt(args[3], 10, 64)
	ts.Check(err)
	p, err := testenv.StartFaultProxy(args[1])
	ts.Check(err)
	ts.Defer(p.Close)
	p.Set(testenv.FaultRule{Method: "GET", Path: args[2], Fault: testenv.StallDownload, Bytes: n})
	ts.Setenv(args[0], p.URL)
}

func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t, "testdata/script"))
}

// TestS3Scripts runs the scripts that need a real S3-compatible server
// (versitygw on 127.0.0.1). Each script gets its own bucket:
// $S3_STORE (https://host:port/bucket form for init --store), $S3_ENDPOINT,
// $S3_BUCKET, and the credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
func TestS3Scripts(t *testing.T) {
	srv := testenv.Versitygw(t)
	p := scriptParams(t, "testdata/s3")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		if err := setup(e); err != nil {
			return err
		}
		bucket, err := srv.CreateBucket()
		if err != nil {
			return err
		}
		e.Setenv("S3_ENDPOINT", srv.Endpoint)
		e.Setenv("S3_BUCKET", bucket)
		e.Setenv("S3_STORE", srv.Endpoint+"/"+bucket)
		e.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
		e.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
		e.Setenv("AWS_REGION", srv.Region)
		return nil
	}
	testscript.Run(t, p)
}
