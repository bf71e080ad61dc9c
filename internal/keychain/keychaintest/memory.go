// Package keychaintest is an in-memory keychain.Keychain for other packages' tests;
// the product binary has no in-memory keychain.
package keychaintest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/keychain"
)

// Name is what Memory.Name returns, and what its errors name.
const Name = "memory keychain"

// Memory is an in-memory keychain. Its zero value is an empty keychain ready to use.
// When Err is set, every call returns it instead, which stands for a keychain that
// cannot be reached.
type Memory struct {
	Err error

	mu      sync.Mutex
	entries map[string]string
}

var _ keychain.Keychain = (*Memory)(nil)

// Name implements keychain.Keychain.
func (m *Memory) Name() string { return Name }

// Get implements keychain.Keychain.
func (m *Memory) Get(ctx context.Context, account string) (string, error) {
	if err := m.check(ctx); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.entries[account]
	if !ok {
		return "", keychain.NotFound(Name, account)
	}
	return v, nil
}

// Set implements keychain.Keychain.
func (m *Memory) Set(ctx context.Context, account, secret string) error {
	if err := m.check(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[string]string)
	}
	m.entries[account] = secret
	return nil
}

// Delete implements keychain.Keychain.
func (m *Memory) Delete(ctx context.Context, account string) error {
	if err := m.check(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[account]; !ok {
		return keychain.NotFound(Name, account)
	}
	delete(m.entries, account)
	return nil
}

// Accounts returns the accounts that hold an entry, sorted, for assertions.
func (m *Memory) Accounts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.entries))
}

// check gives Err, or the errors a real backend gives for a cancelled call (exit 1)
// or one past its deadline (unavailable, exit 4).
func (m *Memory) check(ctx context.Context) error {
	if m.Err != nil {
		return m.Err
	}
	err := ctx.Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return &fail.Error{Code: fail.Failure, What: "the " + Name + " call was cancelled", Hint: "retry", Err: err}
	default:
		return &fail.Error{Code: fail.NotSetUp, What: fmt.Sprintf("the %s did not answer", Name),
			Hint: "retry", Err: fmt.Errorf("%w: %w", keychain.ErrUnavailable, err)}
	}
}
