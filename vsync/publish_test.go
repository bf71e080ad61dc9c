package vsync_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/git-vsync/git-vsync/internal/bundle"
	"github.com/git-vsync/git-vsync/internal/envelope/cfgtoken"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/envelope/rqe1"
	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/store"
)

// demo is a file store with an env "dev" of repository "demo", as `git vsync push`
// leaves it (the CLI-on-S3 case is tested in internal/cli/testdata/s3).
type demo struct {
	dir   string
	st    store.Store
	token string
	key   string
	salt  string
}

const demoKey = "q2Tz8m4c2O4c1x7QH0m3m1kQnVbW2b8Yy7gE5b3xk0A="

func newDemo(dir string) (*demo, error) {
	d := &demo{dir: dir, key: demoKey, salt: "c2FsdHNhbHRzYWx0c2FsdA=="}
	endpoint := "file://" + filepath.ToSlash(dir)
	st, err := store.Open(store.Config{Endpoint: endpoint, Bucket: "b"})
	if err != nil {
		return nil, err
	}
	d.st = st
	d.token, err = cfgtoken.Encode(cfgtoken.Token{Endpoint: endpoint, Bucket: "b", Prefix: "demo/dev/", Env: "dev", Salt: d.salt})
	return d, err
}

// publish seals files (vault-relative paths) as version ts and points latest at it.
func (d *demo) publish(ts string, files map[string]string) error {
	vaultDir, err := os.MkdirTemp(d.dir, "vault")
	if err != nil {
		return err
	}
	defer os.RemoveAll(vaultDir)
	for p, body := range files {
		full := filepath.Join(vaultDir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(body), 0o600); err != nil {
			return err
		}
	}
	var zip bytes.Buffer
	if err := bundle.Write(&zip, vaultDir, "infra/vault/dev"); err != nil {
		return err
	}
	return d.put(ts, rqem.Seal(ts, zip.Bytes()))
}

// put seals plaintext as the bundle of ts and points latest at it.
func (d *demo) put(ts string, plaintext []byte) error {
	k, err := kdf.Key(d.key, d.salt)
	if err != nil {
		return err
	}
	sealed, err := rqe1.Seal(k, plaintext)
	if err != nil {
		return err
	}
	return d.putRaw(ts, sealed)
}

func (d *demo) putRaw(ts string, bundleBytes []byte) error {
	l := store.EnvLayout("demo", "dev")
	ctx := context.Background()
	if _, err := d.st.Put(ctx, l.Version(ts), bundleBytes, store.Cond{}); err != nil {
		return err
	}
	_, err := d.st.Put(ctx, l.Latest(), []byte(ts), store.Cond{})
	return err
}

func mustDemo(t *testing.T) *demo {
	t.Helper()
	d, err := newDemo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
