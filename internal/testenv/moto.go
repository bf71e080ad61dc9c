package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Moto is a running moto_server (a local AWS API used here for Secrets Manager).
type Moto struct {
	Endpoint string // "http://127.0.0.1:PORT"
	dir      string
	proc     *process
}

// ErrNoMoto: moto_server was not found.
var ErrNoMoto = errors.New("moto_server not found on PATH or in $MOTO_SERVER (scripts/install-test-deps.sh installs it with pip when pip can reach a package index)")

var (
	motoOnce sync.Once
	motoSrv  *Moto
	motoErr  error
)

// MotoServer returns the moto_server of this test process, starting it on first
// use on 127.0.0.1 and a free port, and waiting until Secrets Manager answers (its
// first request loads the service and takes seconds). Tests share it: use names of
// your own. Without moto_server the test is skipped (or fails when CI=true).
func MotoServer(t testing.TB) *Moto {
	t.Helper()
	motoOnce.Do(func() {
		bin := os.Getenv("MOTO_SERVER")
		if bin == "" {
			bin = "moto_server"
		}
		p, err := exec.LookPath(bin)
		if err != nil {
			motoErr = ErrNoMoto
			return
		}
		motoSrv, motoErr = startMoto(p)
	})
	if errors.Is(motoErr, ErrNoMoto) {
		Missing(t, "%v", motoErr)
	}
	if motoErr != nil {
		t.Fatalf("moto: %v", motoErr)
	}
	return motoSrv
}

func startMoto(bin string) (*Moto, error) {
	dir, err := os.MkdirTemp("", "vsync-moto-")
	if err != nil {
		return nil, err
	}
	var last error
	for try := 0; try < 5; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		m := &Moto{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), dir: dir}
		if last = m.launch(bin, port); last == nil {
			motoMu.Lock()
			motos = append(motos, m)
			motoMu.Unlock()
			return m, nil
		}
	}
	os.RemoveAll(dir)
	return nil, last
}

func (m *Moto) launch(bin string, port int) error {
	logPath := filepath.Join(m.dir, "moto.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	p, err := startProcess(cmd, m.dir)
	if err != nil {
		return err
	}
	// Warm up: the first Secrets Manager call imports the service (seconds).
	deadline := time.Now().Add(90 * time.Second)
	for {
		if err = m.ping(); err == nil {
			m.proc = p
			return nil
		}
		if p.exited() || time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("moto_server on port %d did not come up: %v\n%s", port, err, tail(logPath))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ping makes one Secrets Manager call (moto does not check signatures).
func (m *Moto) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/", bytes.NewReader([]byte("{}")))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.ListSecrets")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ListSecrets: HTTP %d", resp.StatusCode)
	}
	return nil
}

var (
	motoMu sync.Mutex
	motos  []*Moto
)

// stopMotos ends every moto_server of this process (StopAll calls it).
func stopMotos() {
	motoMu.Lock()
	ms := motos
	motos = nil
	motoMu.Unlock()
	for _, m := range ms {
		if m.proc != nil {
			m.proc.kill()
		}
		os.RemoveAll(m.dir)
	}
}
