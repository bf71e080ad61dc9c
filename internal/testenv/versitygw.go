package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Server is a running S3-compatible server a test may use.
type S3Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	Region    string // "us-east-1"
	AccessKey string
	SecretKey string
}

// WrongSecret returns the same server with a secret key it will refuse
// (SignatureDoesNotMatch), to test "access denied".
func (s S3Server) WrongSecret() S3Server {
	s.SecretKey = "wrong-" + randHex(16)
	return s
}

// client returns an S3 client for the server, built without any shared AWS
// configuration.
func (s S3Server) client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           1,
	})
}

var bucketSeq atomic.Int64

// NewBucket creates a fresh, uniquely named bucket and returns its name.
func (s S3Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", bucketSeq.Add(1), randHex(6))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("versitygw: create bucket %s: %v", name, err)
	}
	return name
}

// Versitygw returns the versitygw of this test process, starting it on first
// use: posix backend in a temp folder, 127.0.0.1 on a free port, random root
// keys. It runs until StopAll (call it from TestMain) or until the test
// process exits, whichever comes first. Without versitygw the test is skipped
// (or fails when CI=true).
//
// Tests share it: make your own bucket with NewBucket and never stop it; use
// StartVersitygw for a server you may stop.
func Versitygw(t testing.TB) S3Server {
	t.Helper()
	s, err := SharedVersitygw()
	if errors.Is(err, ErrNoVersitygw) {
		Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	return s
}

// SharedVersitygw is Versitygw for callers without a testing.TB (testscript
// setup): it returns the shared server, or an error wrapping ErrNoVersitygw
// when the binary is missing (the caller then decides between skip and fail,
// see InCI).
func SharedVersitygw() (S3Server, error) {
	sharedOnce.Do(func() {
		bin, err := findVersitygw()
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = startGateway(bin)
	})
	if sharedErr != nil {
		return S3Server{}, sharedErr
	}
	return shared.S3Server, nil
}

// Gateway is a versitygw of one's own that can be stopped and started again
// (same port, same data) to test a store going away.
type Gateway struct {
	S3Server
	bin  string
	dir  string // temp folder: root/ (the posix backend) and the log
	port int
	// adminPort is the admin API of a gateway with internal IAM (0: none).
	adminPort int

	mu   sync.Mutex
	proc *process // nil while stopped
}

// StartVersitygw starts a dedicated versitygw for t, stopped and removed when
// t ends.
func StartVersitygw(t testing.TB) *Gateway {
	t.Helper()
	bin, err := findVersitygw()
	if err != nil {
		Missing(t, "%v", err)
	}
	g, err := startGateway(bin)
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	t.Cleanup(g.close)
	return g
}

// Stop kills the server; its endpoint then refuses connections.
func (g *Gateway) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.proc != nil {
		g.proc.kill()
		g.proc = nil
	}
}

// Start starts a stopped server again on the same port with the same data.
func (g *Gateway) Start(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.proc != nil {
		return
	}
	var err error
	for i := 0; i < 50; i++ { // the port may linger for a moment
		if err = g.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("versitygw: restart: %v", err)
}

// DownEndpoint returns an http endpoint on 127.0.0.1 where nothing listens
// (connection refused), for "store unreachable" tests.
func DownEndpoint(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// StopAll stops every versitygw (and moto_server) this process started and removes
// their data.
// Call it from TestMain after m.Run; if it is not called the servers still
// die with the test process (see process_*.go).
func StopAll() {
	gatewaysMu.Lock()
	gs := gateways
	gateways = nil
	gatewaysMu.Unlock()
	for _, g := range gs {
		g.close()
	}
	stopMotos()
}

var (
	sharedOnce sync.Once
	shared     *Gateway
	sharedErr  error

	gatewaysMu sync.Mutex
	gateways   []*Gateway
)

// ErrNoVersitygw: the versitygw binary was not found.
var ErrNoVersitygw = errors.New("versitygw not found on PATH, in $GOBIN or in $(go env GOPATH)/bin (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")

// findVersitygw looks on PATH, then where `go install` puts binaries.
// $VERSITYGW may name the binary explicitly.
func findVersitygw() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return exec.LookPath(p)
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	exe := "versitygw"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		if gp != "" {
			dirs = append(dirs, filepath.Join(gp, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, exe)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNoVersitygw
}

func startGateway(bin string) (*Gateway, error) { return startGatewayWith(bin, false) }

// startGatewayWith starts a gateway; with iam, versitygw's internal IAM and admin API
// too (StartVersitygwIAM).
func startGatewayWith(bin string, iam bool) (*Gateway, error) {
	dir, err := os.MkdirTemp("", "vsync-versitygw-")
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "root"), 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	g := &Gateway{
		S3Server: S3Server{
			Region:    "us-east-1",
			AccessKey: "vsync" + randHex(8),
			SecretKey: randHex(20),
		},
		bin: bin,
		dir: dir,
	}
	// Another test process may grab the port between our probe and
	// versitygw's listen: try a few ports.
	for try := 0; try < 5; try++ {
		g.port, err = freePort()
		if err != nil {
			break
		}
		g.Endpoint = "http://127.0.0.1:" + strconv.Itoa(g.port)
		if iam {
			if g.adminPort, err = freePort(); err != nil {
				break
			}
		}
		if err = g.launch(); err == nil {
			gatewaysMu.Lock()
			gateways = append(gateways, g)
			gatewaysMu.Unlock()
			return g, nil
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// launch starts versitygw and waits until it answers a signed request with
// our keys (so a server of another process on the same port never counts).
func (g *Gateway) launch() error {
	logPath := filepath.Join(g.dir, "versitygw.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"--port", "127.0.0.1:" + strconv.Itoa(g.port), "--quiet"}
	if g.adminPort != 0 {
		if err := os.MkdirAll(filepath.Join(g.dir, "iam"), 0o700); err != nil {
			return err
		}
		args = append(args, "--admin-port", "127.0.0.1:"+strconv.Itoa(g.adminPort), "--iam-dir", filepath.Join(g.dir, "iam"))
	}
	cmd := exec.Command(g.bin, append(args, "posix", filepath.Join(g.dir, "root"))...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Keys go through the environment, not argv.
	env := []string{"ROOT_ACCESS_KEY_ID=" + g.AccessKey, "ROOT_SECRET_ACCESS_KEY=" + g.SecretKey}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	p, err := startProcess(cmd, g.dir)
	if err != nil {
		return err
	}
	c := g.client()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = c.ListBuckets(ctx, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			g.proc = p
			return nil
		}
		if p.exited() || time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("versitygw on port %d did not come up: %v\n%s", g.port, err, tail(logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *Gateway) close() {
	g.Stop()
	os.RemoveAll(g.dir)
	gatewaysMu.Lock()
	for i, x := range gateways {
		if x == g {
			gateways = append(gateways[:i], gateways[i+1:]...)
			break
		}
	}
	gatewaysMu.Unlock()
}

// Ready reports whether the server answers now (for tests of Stop/Start).
func (s S3Server) Ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}
