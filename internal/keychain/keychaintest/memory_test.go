package keychaintest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/keychain"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	var m Memory
	if _, err := m.Get(ctx, "a/dev"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("Get of missing: %v", err)
	}
	if err := m.Delete(ctx, "a/dev"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("Delete of missing: %v", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := m.Set(ctx, "b/dev", v); err != nil {
			t.Fatal(err)
		}
		if got, err := m.Get(ctx, "b/dev"); err != nil || got != v {
			t.Fatalf("Get = %q, %v", got, err)
		}
	}
	_ = m.Set(ctx, "a/dev", "x")
	if got := strings.Join(m.Accounts(), ","); got != "a/dev,b/dev" {
		t.Fatalf("Accounts = %s", got)
	}
	if err := m.Delete(ctx, "b/dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "b/dev"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
}
