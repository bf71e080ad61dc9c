package keychain_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/keychain/keychaintest"
)

func mapenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolver(t *testing.T) {
	ctx := context.Background()
	mem := &keychaintest.Memory{}
	if err := mem.Set(ctx, keychain.Account("r", "dev"), "chain-key"); err != nil {
		t.Fatal(err)
	}

	envKey := "ZW52LWtleS1lbnYta2V5LWVudi1rZXktZW52LWtleSE="
	r := keychain.Resolver{Chain: mem, Getenv: mapenv(map[string]string{"VSYNC_KEY": envKey})}
	if key, src, err := r.Lookup(ctx, "r", "dev"); err != nil || key != envKey || src != keychain.SourceEnv {
		t.Fatalf("env must win: %q %q %v", key, src, err)
	}

	r.Getenv = mapenv(nil)
	if key, src, err := r.Lookup(ctx, "r", "dev"); err != nil || key != "chain-key" || src != keychain.SourceKeychain {
		t.Fatalf("keychain: %q %q %v", key, src, err)
	}

	_, _, err := r.Lookup(ctx, "r", "prod")
	if !errors.Is(err, keychain.ErrNotFound) || fail.CodeOf(err) != fail.NotSetUp {
		t.Fatalf("missing key: want keychain.ErrNotFound/NotSetUp, got %v", err)
	}
	for _, want := range []string{"r/prod", "memory keychain", "VSYNC_KEY_PROD", "VSYNC_KEY_FILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	_ = mem.Set(ctx, keychain.Account("r", "nl"), "nl-key\n")
	if key, _, err := r.Lookup(ctx, "r", "nl"); err != nil || key != "nl-key" {
		t.Fatalf("keychain value with a newline: %q %v", key, err)
	}
	_ = mem.Set(ctx, keychain.Account("r", "blank"), " \n")
	if _, _, err := r.Lookup(ctx, "r", "blank"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("blank keychain value: %v", err)
	}

	r.Getenv = mapenv(map[string]string{"VSYNC_KEY_FILE": filepath.Join(t.TempDir(), "nope")})
	if _, _, err := r.Lookup(ctx, "r", "dev"); err == nil {
		t.Fatal("a broken VSYNC_KEY_FILE must be an error, not a fall-back to the keychain")
	}

	down := &fail.Error{Code: fail.NotSetUp, What: "keychain down", Err: keychain.ErrUnavailable}
	r = keychain.Resolver{Chain: &keychaintest.Memory{Err: down}, Getenv: mapenv(nil)}
	if _, _, err := r.Lookup(ctx, "r", "dev"); !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("keychain errors pass through: %v", err)
	}
	r.Getenv = mapenv(map[string]string{"VSYNC_KEY_DEV": envKey})
	if key, _, err := r.Lookup(ctx, "r", "dev"); err != nil || key != envKey {
		t.Fatalf("env must not need the keychain: %q %v", key, err)
	}
	// A key of the wrong shape in the environment is refused (exit 4), naming the
	// variable and never the value.
	for _, bad := range []string{"k", `"` + envKey + `"`, envKey[:43], "correct horse battery staple"} {
		r.Getenv = mapenv(map[string]string{"VSYNC_KEY_DEV": bad})
		_, _, err := r.Lookup(ctx, "r", "dev")
		if fail.CodeOf(err) != fail.NotSetUp || !strings.Contains(err.Error(), "VSYNC_KEY_DEV does not hold a key") || (len(bad) > 3 && strings.Contains(err.Error(), bad)) {
			t.Fatalf("bad key %q: %v", bad, err)
		}
	}

	r = keychain.Resolver{Getenv: mapenv(nil)}
	if _, _, err := r.Lookup(ctx, "r", "dev"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("nil chain: %v", err)
	}
}
