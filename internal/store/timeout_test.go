package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// A server that accepts but never answers costs one response timeout, and the
// error names the endpoint and the wait.
func TestS3ResponseTimeout(t *testing.T) {
	ep := testenv.SilentEndpoint(t)
	st, err := store.Open(store.Config{Endpoint: ep, Bucket: "b", AccessKeyID: "k", SecretAccessKey: "secret-s3cr3t", ResponseTimeout: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = st.Get(context.Background(), "r/e/latest")
	took := time.Since(start)
	if !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("want ErrUnreachable, got %v", err)
	}
	if took > 3*time.Second {
		t.Fatalf("took %s: the timeout was retried or ignored", took)
	}
	msg := err.Error()
	for _, want := range []string{ep, "accepted the connection but sent no answer within 400ms", "VSYNC_STORE_TIMEOUT"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cr3t") {
		t.Fatal("secret in the error")
	}
}

// A connect that is never answered (packets dropped) costs one connect
// timeout, and the error names the host and the wait.
func TestS3ConnectTimeout(t *testing.T) {
	ep := testenv.BlackholeEndpoint(t)
	st, err := store.Open(store.Config{Endpoint: ep, Bucket: "b", AccessKeyID: "AKIATEST", SecretAccessKey: "secret-key-0123", ConnectTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = st.List(context.Background(), "r/e/")
	took := time.Since(start)
	if !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("want ErrUnreachable, got %v", err)
	}
	if took > 3*time.Second {
		t.Fatalf("took %s: the dial was retried or not bounded", took)
	}
	host := strings.TrimPrefix(ep, "http://")
	if msg := err.Error(); !strings.Contains(msg, "could not connect to "+host+" within 300ms") {
		t.Fatalf("error %q", msg)
	}
}
