package store_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// tcpCounter counts the TCP connections made to it (forwarding them to
// upstream unless that is empty).
type tcpCounter struct {
	addr string
	n    atomic.Int32
}

func newTCPCounter(t *testing.T, upstream string) *tcpCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpCounter{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.n.Add(1)
			go func() {
				defer c.Close()
				if upstream == "" {
					return // a listener that only counts (IMDS)
				}
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.Close() }()
				io.Copy(c, u)
			}()
		}
	}()
	return p
}

func roundTrip(t *testing.T, s store.Store, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Put(ctx, key, []byte("v"), store.Cond{}); err != nil {
		t.Fatalf("put %s: %v", s, err)
	}
	if _, _, err := s.Get(ctx, key); err != nil {
		t.Fatalf("get %s: %v", s, err)
	}
}

// TestClientsKeepStoresApart: stores of one Clients that share a client still
// work on their own bucket, and a store with other credentials gets a client
// of its own (refused by the server) while the first one keeps working.
// (Which stores share a client: TestClientsShareByKey; versitygw closes every
// connection, so sharing does not show in connection counts here.)
func TestClientsKeepStoresApart(t *testing.T) {
	srv := testenv.Versitygw(t)
	b1, b2 := srv.NewBucket(t), srv.NewBucket(t)
	var cs store.Clients
	s1, err := cs.Open(s3Config(srv, b1))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := cs.Open(s3Config(srv, b2))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s1, "a")
	roundTrip(t, s2, "b")
	if _, _, err := s2.Get(context.Background(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the second store reads its own bucket: get a = %v, want not found", err)
	}
	if got := s2.String(); got != "s3://"+b2+" @ "+srv.Endpoint {
		t.Errorf("String() = %q", got)
	}
	sw, err := cs.Open(s3Config(srv.WrongSecret(), b1))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sw.Get(context.Background(), "a"); !errors.Is(err, store.ErrAccessDenied) {
		t.Errorf("a store with a wrong secret: %v, want access denied", err)
	}
	roundTrip(t, s1, "c")
}

// unusableAWSFiles points every file the AWS chain would read at a folder
// (reading it fails), names a profile that does not exist, puts wrong keys in
// the environment and the instance metadata endpoint on a listener that
// counts: a lookup through the chain fails or shows.
func unusableAWSFiles(t *testing.T) (imds *tcpCounter) {
	dir := t.TempDir()
	imds = newTCPCounter(t, "")
	t.Setenv("HOME", dir)
	t.Setenv("AWS_CONFIG_FILE", dir)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir)
	t.Setenv("AWS_CA_BUNDLE", filepath.Join(dir, "missing.pem"))
	t.Setenv("AWS_PROFILE", "vsync-no-such-profile")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAVSYNCWRONG")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+imds.addr)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	return imds
}

// TestS3StaticKeysNeverReadTheAWSChain: a config with static keys uses them and
// nothing of the AWS chain — no shared config or credentials file, no profile,
// no environment keys, no CA bundle, no instance metadata request (docs/design.md,
// "Credentials"). The same environment breaks a config without keys, so the
// chain really is unusable here.
func TestS3StaticKeysNeverReadTheAWSChain(t *testing.T) {
	srv := testenv.Versitygw(t)
	bucket := srv.NewBucket(t)
	imds := unusableAWSFiles(t)

	var cs store.Clients
	s, err := cs.Open(s3Config(srv, bucket))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s, "static")

	keyless := s3Config(srv, bucket)
	keyless.AccessKeyID, keyless.SecretAccessKey = "", ""
	k, err := cs.Open(keyless)
	if err != nil {
		t.Fatal(err)
	}
	var nc *store.NoCredentialsError
	if _, _, err := k.Get(context.Background(), "static"); !errors.As(err, &nc) || !errors.Is(err, store.ErrAccessDenied) {
		t.Fatalf("a keyless config in this environment: %v, want no S3 credentials", err)
	}
	if n := imds.n.Load(); n != 0 {
		t.Errorf("%d connections to the instance metadata endpoint", n)
	}
}

// TestS3ChainResolvedOncePerClients: the stores of one Clients without keys
// share one lookup of the AWS chain; environment keys are found by it, before
// AWS_PROFILE, as the SDK's default chain orders them.
func TestS3ChainResolvedOncePerClients(t *testing.T) {
	srv := testenv.Versitygw(t)
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CA_BUNDLE", "")
	// A profile with wrong keys: the environment's keys come first.
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[other]\naws_access_key_id = AKIAVSYNCWRONG\naws_secret_access_key = wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_PROFILE", "other")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)

	keyless := func(bucket string) store.Config {
		c := s3Config(srv, bucket)
		c.AccessKeyID, c.SecretAccessKey = "", ""
		return c
	}
	before := store.ChainLookups()
	var cs store.Clients
	for range 3 {
		s, err := cs.Open(keyless(srv.NewBucket(t)))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, s, "chain")
	}
	if n := store.ChainLookups() - before; n != 1 {
		t.Errorf("three stores of one Clients looked the chain up %d times, want 1", n)
	}

	before = store.ChainLookups()
	for range 2 {
		s, err := store.Open(keyless(srv.NewBucket(t)))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, s, "chain")
	}
	if n := store.ChainLookups() - before; n != 2 {
		t.Errorf("two stores opened alone looked the chain up %d times, want 2", n)
	}

	// Without environment keys the profile's (wrong) keys are used: refused.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	s, err := store.Open(keyless(srv.NewBucket(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(context.Background(), "chain"); !errors.Is(err, store.ErrAccessDenied) {
		t.Errorf("the profile's wrong keys: %v, want access denied", err)
	}
}
