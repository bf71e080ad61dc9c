//go:build !darwin && !windows && !js && !wasip1 && !plan9

package keychain

// These tests talk to a real Secret Service (gnome-keyring under CI):
//
//	scripts/ci-env.sh go test ./internal/keychain/ -v
//
// Without a session bus or a Secret Service they skip on a laptop and fail when
// CI=true. They use unique accounts and delete what they store. The test that locks
// the keyring starts a bus and a gnome-keyring of its own (privateKeyring), so it
// disturbs neither the tests running beside it nor a real desktop keyring.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// needSecretService calls testenv.Missing unless a Secret Service answers (or can be
// activated) on the session bus.
func needSecretService(t *testing.T) {
	t.Helper()
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		testenv.Missing(t, "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set); run under scripts/ci-env.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		testenv.Missing(t, "cannot connect to the session bus %s: %v", addr, err)
	}
	defer conn.Close()
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, ssDest).Store(&owned); err != nil {
		testenv.Missing(t, "session bus does not answer: %v", err)
	}
	if owned {
		return
	}
	var names []string
	_ = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names)
	for _, n := range names {
		if n == ssDest {
			return
		}
	}
	testenv.Missing(t, "no Secret Service (%s) on the session bus", ssDest)
}

// testAccount returns a fresh account and deletes its items when the test ends.
func testAccount(t *testing.T) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	account := "vsync_test_" + hex.EncodeToString(b[:]) + "/dev"
	t.Cleanup(func() { _ = Native().Delete(context.Background(), account) })
	return account
}

func secretTool(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := testenv.NeedCommand(t, "secret-tool")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// itemCount counts the items of account, with raw D-Bus calls independent of the
// code under test.
func itemCount(t *testing.T, account string) int {
	t.Helper()
	conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var unlocked, locked []dbus.ObjectPath
	err = conn.Object(ssDest, ssPath).Call(ssService+".SearchItems", 0,
		map[string]string{"service": Service, "account": account}).Store(&unlocked, &locked)
	if err != nil {
		t.Fatal(err)
	}
	return len(unlocked) + len(locked)
}

func mustKey(t *testing.T) string {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSecretServiceRoundTrip(t *testing.T) {
	needSecretService(t)
	ctx := context.Background()
	kc := Native()
	account := testAccount(t)

	if _, err := kc.Get(ctx, account); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing entry: want ErrNotFound, got %v", err)
	} else if fail.CodeOf(err) != fail.NotSetUp || !strings.Contains(err.Error(), account) {
		t.Fatalf("missing entry error: code %d, %q", fail.CodeOf(err), err)
	}

	first, second := mustKey(t), mustKey(t)
	if err := kc.Set(ctx, account, first); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := kc.Get(ctx, account); err != nil || got != first {
		t.Fatalf("Get = %q, %v; want the stored key", got, err)
	}
	if err := kc.Set(ctx, account, second); err != nil {
		t.Fatalf("Set (overwrite): %v", err)
	}
	if got, err := kc.Get(ctx, account); err != nil || got != second {
		t.Fatalf("Get after overwrite = %q, %v", got, err)
	}
	if n := itemCount(t, account); n != 1 {
		t.Fatalf("overwrite left %d items, want 1", n)
	}

	if err := kc.Delete(ctx, account); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := kc.Get(ctx, account); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: want ErrNotFound, got %v", err)
	}
	if err := kc.Delete(ctx, account); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete of a missing entry: want ErrNotFound, got %v", err)
	}
}

// The TypeScript tool's entry (libsecret, schema com.oven-sh.bun.Secret) is ours too.
func TestSecretServiceReadsTypeScriptEntry(t *testing.T) {
	needSecretService(t)
	ctx := context.Background()
	account := testAccount(t)
	key := mustKey(t)
	if _, stderr, err := secretTool(t, key, "store", "--label=x", "service", Service, "account", account,
		"xdg:schema", SecretSchema); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, stderr)
	}
	if got, err := Native().Get(ctx, account); err != nil || got != key {
		t.Fatalf("Get of the TypeScript tool's entry = %q, %v", got, err)
	}

	// Overwriting replaces that item rather than adding a second one.
	newer := mustKey(t)
	if err := Native().Set(ctx, account, newer); err != nil {
		t.Fatal(err)
	}
	if n := itemCount(t, account); n != 1 {
		t.Fatalf("%d items after overwriting the TypeScript entry, want 1", n)
	}
	if out, stderr, err := secretTool(t, "", "lookup", "service", Service, "account", account); err != nil || out != newer {
		t.Fatalf("secret-tool lookup = %q, %v: %s", out, err, stderr)
	}

	if err := Native().Delete(ctx, account); err != nil {
		t.Fatal(err)
	}
	if n := itemCount(t, account); n != 0 {
		t.Fatalf("%d items after Delete", n)
	}
}

func TestSecretServiceEntryFoundBySecretTool(t *testing.T) {
	needSecretService(t)
	account := testAccount(t)
	key := mustKey(t)
	if err := Native().Set(context.Background(), account, key); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := secretTool(t, "", "lookup", "service", Service, "account", account)
	if err != nil || out != key {
		t.Fatalf("secret-tool lookup = %q, %v: %s", out, err, stderr)
	}
	// secret-tool search prints the label and schema on stdout, attributes on stderr.
	out, stderr, err = secretTool(t, "", "search", "--all", "service", Service, "account", account)
	if err != nil {
		t.Fatalf("secret-tool search: %v: %s", err, stderr)
	}
	all := out + stderr
	for _, want := range []string{
		"label = " + Service + "/" + account,
		"schema = " + SecretSchema,
		"attribute.service = " + Service,
		"attribute.account = " + account,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("secret-tool search output lacks %q:\n%s", want, all)
		}
	}
}

// An item of the same account without the xdg:schema attribute is not matched by
// CreateItem's replace; Set removes it so that Get stays unambiguous.
func TestSecretServiceSetReplacesForeignShape(t *testing.T) {
	needSecretService(t)
	ctx := context.Background()
	account := testAccount(t)
	if _, stderr, err := secretTool(t, "old", "store", "--label=old", "service", Service, "account", account); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, stderr)
	}
	if got, err := Native().Get(ctx, account); err != nil || got != "old" {
		t.Fatalf("Get of a schema-less entry = %q, %v", got, err)
	}
	key := mustKey(t)
	if err := Native().Set(ctx, account, key); err != nil {
		t.Fatal(err)
	}
	if n := itemCount(t, account); n != 1 {
		t.Fatalf("%d items after Set, want 1", n)
	}
	if got, err := Native().Get(ctx, account); err != nil || got != key {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

// checkUnavailable asserts a fast, clear "keychain unavailable" error.
func checkUnavailable(t *testing.T, err error, elapsed, limit time.Duration, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	t.Logf("after %v: %v\n  hint: %s", elapsed.Round(time.Millisecond), err, fail.HintOf(err))
	if elapsed > limit {
		t.Errorf("took %v, want at most %v", elapsed, limit)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("error does not match ErrUnavailable: %v", err)
	}
	if fail.CodeOf(err) != fail.NotSetUp {
		t.Errorf("exit code %d, want %d", fail.CodeOf(err), fail.NotSetUp)
	}
	hint := fail.HintOf(err)
	if !strings.Contains(hint, "VSYNC_KEY") {
		t.Errorf("hint does not offer VSYNC_KEY: %q", hint)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error()+"\n"+hint, w) {
			t.Errorf("error lacks %q:\n  %v\n  hint: %s", w, err, hint)
		}
	}
}

func TestSecretServiceNoSessionBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	for name, call := range calls() {
		start := time.Now()
		err := call(context.Background())
		checkUnavailable(t, err, time.Since(start), 100*time.Millisecond,
			"no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)", "dbus-run-session")
		if t.Failed() {
			t.Fatalf("%s failed", name)
		}
	}
}

func TestSecretServiceUnreachableBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/vsync/bus")
	ctx := WithTimeout(context.Background(), time.Second)
	start := time.Now()
	_, err := Native().Get(ctx, "r/dev")
	checkUnavailable(t, err, time.Since(start), 1500*time.Millisecond,
		"cannot connect to the D-Bus session bus", "/nonexistent/vsync/bus")
}

// silentBus listens on a unix socket, accepts connections and never says a word.
func silentBus(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vsb") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
		os.RemoveAll(dir)
	})
	return "unix:path=" + sock
}

func calls() map[string]func(ctx context.Context) error {
	kc := Native()
	return map[string]func(ctx context.Context) error{
		"Get":    func(ctx context.Context) error { _, err := kc.Get(ctx, "r/dev"); return err },
		"Set":    func(ctx context.Context) error { return kc.Set(ctx, "r/dev", "k") },
		"Delete": func(ctx context.Context) error { return kc.Delete(ctx, "r/dev") },
	}
}

func TestSecretServiceSilentBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", silentBus(t))
	for name, call := range calls() {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := call(WithTimeout(context.Background(), time.Second))
			checkUnavailable(t, err, time.Since(start), 2500*time.Millisecond,
				"Secret Service (D-Bus) did not answer within 1s", "VSYNC_KEYCHAIN_TIMEOUT")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("want DeadlineExceeded in the chain: %v", err)
			}
		})
	}
	t.Run("env timeout", func(t *testing.T) {
		t.Setenv(TimeoutEnv, "500ms")
		start := time.Now()
		_, err := Native().Get(context.Background(), "r/dev")
		checkUnavailable(t, err, time.Since(start), 2*time.Second, "did not answer within 500ms")
	})
}

// A session bus on which nothing provides org.freedesktop.secrets.
func TestSecretServiceNoService(t *testing.T) {
	bin := testenv.NeedCommand(t, "dbus-daemon")
	dir, err := os.MkdirTemp("", "vsd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "bus.conf")
	// No <servicedir>: nothing can be activated.
	conf := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=` + filepath.Join(dir, "bus") + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+cfg, "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon did not print its address: %v", err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", strings.TrimSpace(addr))

	start := time.Now()
	_, err = Native().Get(WithTimeout(context.Background(), 3*time.Second), "r/dev")
	checkUnavailable(t, err, time.Since(start), 2*time.Second, "no Secret Service on the D-Bus session bus")
}

// privateKeyring starts a dbus-daemon and a gnome-keyring-daemon of the test's own,
// with a fresh "login" keyring unlocked by the returned password, and points
// DBUS_SESSION_BUS_ADDRESS at that bus for the rest of the test. Tests that lock the
// keyring use it so that they disturb no other test, and no real keyring.
func privateKeyring(t *testing.T) (password string) {
	return startPrivateKeyring(t).password
}

// testKeyring is a private bus with a gnome-keyring-daemon that a test may kill and
// start again (its keyring files stay).
type testKeyring struct {
	t        *testing.T
	bin      string
	env      []string
	addr     string
	password string
	daemon   *exec.Cmd
}

func startPrivateKeyring(t *testing.T) *testKeyring {
	t.Helper()
	dbusDaemon := testenv.NeedCommand(t, "dbus-daemon")
	k := &testKeyring{t: t, bin: testenv.NeedCommand(t, "gnome-keyring-daemon")}
	dir, err := os.MkdirTemp("", "vsk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	k.env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C"}
	for _, v := range []string{"HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"} {
		p := filepath.Join(dir, strings.ToLower(v))
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		k.env = append(k.env, v+"="+p)
	}
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600); err != nil {
		t.Fatal(err)
	}
	bus := exec.Command(dbusDaemon, "--config-file="+conf, "--nofork", "--print-address")
	bus.Env = k.env
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Process.Kill(); _ = bus.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon did not print its address: %v", err)
	}
	k.addr = strings.TrimSpace(addr)
	k.password = "test-" + hex.EncodeToString([]byte(t.Name()))
	k.start()
	t.Cleanup(k.kill)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", k.addr)
	return k
}

// start runs a gnome-keyring-daemon, unlocking the login keyring with the password,
// and waits until it owns its name on the bus.
func (k *testKeyring) start() {
	t := k.t
	t.Helper()
	cmd := exec.Command(k.bin, "--foreground", "--unlock", "--components=secrets")
	cmd.Env = append(k.env, "DBUS_SESSION_BUS_ADDRESS="+k.addr)
	cmd.Stdin = strings.NewReader(k.password)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k.daemon = cmd
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dbus.Connect(k.addr, dbus.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for {
		var owned bool
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, ssDest).Store(&owned); err != nil {
			t.Fatalf("waiting for gnome-keyring on the private bus: %v", err)
		}
		if owned {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the daemon with SIGKILL, as a crash would.
func (k *testKeyring) kill() {
	if k.daemon != nil {
		_ = k.daemon.Process.Kill()
		_ = k.daemon.Wait()
		k.daemon = nil
	}
}

// stop freezes the daemon (SIGSTOP): calls sent to it wait for an answer.
func (k *testKeyring) stop() {
	if err := k.daemon.Process.Signal(syscall.SIGSTOP); err != nil {
		k.t.Fatal(err)
	}
}

// monitor returns the method calls named member that cross the bus, as a monitor
// (org.freedesktop.DBus.Monitoring) sees them.
func (k *testKeyring) monitor(member string) <-chan *dbus.Message {
	t := k.t
	t.Helper()
	conn, err := dbus.Connect(k.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rule := "type='method_call',member='" + member + "'"
	if err := conn.BusObject().Call("org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, []string{rule}, uint32(0)).Err; err != nil {
		t.Fatalf("BecomeMonitor: %v", err)
	}
	all := make(chan *dbus.Message, 16)
	conn.Eavesdrop(all)
	calls := make(chan *dbus.Message, 16)
	go func() {
		for m := range all {
			if m.Type == dbus.TypeMethodCall {
				select {
				case calls <- m:
				default:
				}
			}
		}
	}()
	return calls
}

// With the keyring locked, calls fail at once with "locked" instead of waiting for a
// password prompt; once it is unlocked again, they work.
func TestSecretServiceLockedKeyring(t *testing.T) {
	password := privateKeyring(t)
	ctx := context.Background()
	account := "r/dev"
	key := mustKey(t)
	if err := Native().Set(ctx, account, key); err != nil {
		t.Fatal(err)
	}

	conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	svc := conn.Object(ssDest, ssPath)
	var coll dbus.ObjectPath
	if err := svc.Call(ssService+".ReadAlias", 0, "default").Store(&coll); err != nil {
		t.Fatal(err)
	}
	var lockedObjs []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call(ssService+".Lock", 0, []dbus.ObjectPath{coll}).Store(&lockedObjs, &prompt); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if prompt != "/" {
		t.Fatalf("locking wants a prompt (%s)", prompt)
	}

	for name, call := range map[string]func() error{
		"Get":    func() error { _, err := Native().Get(ctx, account); return err },
		"Set":    func() error { return Native().Set(ctx, account, "other") },
		"Delete": func() error { return Native().Delete(ctx, account) },
	} {
		start := time.Now()
		err := call()
		checkUnavailable(t, err, time.Since(start), 2*time.Second, "locked", "unlock the keyring")
		if t.Failed() {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Unlock with gnome-keyring's own interface, which takes the password.
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call(ssService+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	master := ssSecret{Session: session, Parameters: []byte{}, Value: []byte(password), ContentType: "text/plain"}
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
		coll, master).Err; err != nil {
		t.Fatalf("unlocking the keyring again: %v", err)
	}
	if got, err := Native().Get(ctx, account); err != nil || got != key {
		t.Fatalf("Get after unlocking = %q, %v", got, err)
	}
}

// A daemon that crashes with a call in flight, and is started again by its supervisor
// a moment later (as scripts/ci-env.sh does for gnome-keyring 42, which sometimes
// aborts under load): each call is answered by the new daemon instead of failing with
// NoReply, then ServiceUnknown.
func TestSecretServiceSurvivesDaemonRestart(t *testing.T) {
	k := startPrivateKeyring(t)
	ctx := context.Background()
	account := "r/dev"
	key, newer := mustKey(t), mustKey(t)
	if err := Native().Set(ctx, account, key); err != nil {
		t.Fatal(err)
	}
	// crashUnder runs call with the daemon frozen, kills the daemon once the call's
	// first request waits for it, and starts another after a pause.
	crashUnder := func(name string, call func() error) {
		t.Helper()
		k.stop()
		sessions := k.monitor("OpenSession") // a new monitor: sees only this call's
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- call() }()
		select {
		case <-sessions:
		case err := <-done:
			t.Fatalf("%s returned before its call reached the frozen daemon: %v", name, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no OpenSession call on the bus", name)
		}
		k.kill()
		time.Sleep(150 * time.Millisecond) // the supervisor's pause: calls meet ServiceUnknown
		k.start()
		if err := <-done; err != nil {
			t.Fatalf("%s across a daemon restart: %v", name, err)
		}
		t.Logf("%s answered by the new daemon after %v", name, time.Since(start).Round(time.Millisecond))
	}

	var got string
	crashUnder("Get", func() (err error) { got, err = Native().Get(ctx, account); return err })
	if got != key {
		t.Fatalf("Get = %q, want the stored key", got)
	}
	crashUnder("Set", func() error { return Native().Set(ctx, account, newer) })
	if got, err := Native().Get(ctx, account); err != nil || got != newer {
		t.Fatalf("Get after Set = %q, %v", got, err)
	}
	if n := itemCount(t, account); n != 1 {
		t.Fatalf("%d items after Set, want 1", n)
	}
	crashUnder("Delete", func() error { return Native().Delete(ctx, account) })
	if n := itemCount(t, account); n != 0 {
		t.Fatalf("%d items after Delete", n)
	}

	// A crash at the Delete itself: whether or not the daemon deleted the item
	// before it died, Delete succeeds (the retry finds nothing left to delete).
	if err := Native().Set(ctx, account, key); err != nil {
		t.Fatal(err)
	}
	deletes := k.monitor("Delete")
	done := make(chan error, 1)
	go func() { done <- Native().Delete(ctx, account) }()
	select {
	case <-deletes:
	case err := <-done:
		t.Fatalf("Delete returned before its Item.Delete call: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no Item.Delete call on the bus")
	}
	k.kill()
	k.start()
	if err := <-done; err != nil {
		t.Fatalf("Delete with the daemon killed at Item.Delete: %v", err)
	}
	if n := itemCount(t, account); n != 0 {
		t.Fatalf("%d items after Delete", n)
	}

	// A bus on which no Secret Service ever answered is not waited for.
	k.kill()
	start := time.Now()
	_, err := Native().Get(ctx, account)
	checkUnavailable(t, err, time.Since(start), 300*time.Millisecond, "no Secret Service on the D-Bus session bus")
}

// TestSSVanishedNames pins which D-Bus errors count as a daemon that went away or
// is coming back (retried) and which are final. A name the bus gives before any
// Secret Service answered is final: a machine without a keyring fails at once.
func TestSSVanishedNames(t *testing.T) {
	for _, c := range []struct {
		name              string
		reached, vanished bool
	}{
		{"org.freedesktop.DBus.Error.NoReply", false, true},
		{"org.freedesktop.Secret.Error.NoSession", false, true},
		{"org.freedesktop.DBus.Error.ServiceUnknown", false, false},
		{"org.freedesktop.DBus.Error.ServiceUnknown", true, true},
		// A new daemon that owns the name before it exported its objects.
		{"org.freedesktop.DBus.Error.UnknownMethod", false, false},
		{"org.freedesktop.DBus.Error.UnknownMethod", true, true},
		{"org.freedesktop.DBus.Error.UnknownObject", true, true},
		{"org.freedesktop.DBus.Error.AccessDenied", true, false},
		{"org.freedesktop.Secret.Error.IsLocked", true, false},
	} {
		err := fmt.Errorf("wrapped: %w", dbus.Error{Name: c.name})
		if got := ssVanished(err, c.reached); got != c.vanished {
			t.Errorf("ssVanished(%s, reached=%v) = %v, want %v", c.name, c.reached, got, c.vanished)
		}
	}
}

// Remembered keys live apart from the keys: secret-tool (and the TypeScript tool,
// which looks up with its schema) still finds the key under tools.vsync, and a lookup
// with the TypeScript tool's schema never finds a remembered key.
func TestSecretServiceDerivedEntriesApart(t *testing.T) {
	needSecretService(t)
	ctx := context.Background()
	account := testAccount(t)
	t.Cleanup(func() { _ = NativeDerived().Delete(context.Background(), account) })
	key := mustKey(t)
	if err := Native().Set(ctx, account, key); err != nil {
		t.Fatal(err)
	}
	remembered := EncodeDerived(key, "salt", 1000, bytes.Repeat([]byte{1}, 32))
	if err := NativeDerived().Set(ctx, account, remembered); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := secretTool(t, "", "lookup", "service", Service, "account", account); err != nil || out != key {
		t.Fatalf("secret-tool lookup of the key = %q, %v: %s", out, err, stderr)
	}
	if out, stderr, err := secretTool(t, "", "lookup", "service", Service, "account", account, "xdg:schema", SecretSchema); err != nil || out != key {
		t.Fatalf("lookup with the TypeScript tool's schema = %q, %v: %s", out, err, stderr)
	}
	if got, err := Native().Get(ctx, account); err != nil || got != key {
		t.Fatalf("Get of the key = %q, %v", got, err)
	}
	if got, err := NativeDerived().Get(ctx, account); err != nil || got != remembered {
		t.Fatalf("Get of the remembered key = %q, %v", got, err)
	}
	out, stderr, err := secretTool(t, "", "search", "--all", "service", DerivedService, "account", account)
	if err != nil {
		t.Fatalf("secret-tool search: %v: %s", err, stderr)
	}
	for _, want := range []string{"label = " + DerivedService + "/" + account, "schema = " + DerivedSchema} {
		if !strings.Contains(out+stderr, want) {
			t.Errorf("secret-tool search output lacks %q:\n%s%s", want, out, stderr)
		}
	}
	if out, _, err := secretTool(t, "", "lookup", "service", DerivedService, "account", account, "xdg:schema", SecretSchema); err == nil && out != "" {
		t.Fatalf("a lookup with the TypeScript tool's schema found the remembered key")
	}
	// Removing one leaves the other.
	if err := NativeDerived().Delete(ctx, account); err != nil {
		t.Fatal(err)
	}
	if got, err := Native().Get(ctx, account); err != nil || got != key {
		t.Fatalf("Get of the key after removing the remembered one = %q, %v", got, err)
	}
	if _, err := NativeDerived().Get(ctx, account); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of the removed remembered key: %v", err)
	}
}
