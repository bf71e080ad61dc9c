package keychain

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// Memory is an in-memory Keychain for other packages' unit tests. Its zero value is an
// empty keychain ready to use. When Err is set, every call returns it instead, which
// stands for a keychain that cannot be reached.
type Memory struct {
	Err error

	mu      sync.Mutex
	entries map[string]string
}

var memoryBackend = backend{name: "memory keychain", stuck: "retry"}

// Name implements Keychain.
func (m *Memory) Name() string { return memoryBackend.name }

// Get implements Keychain.
func (m *Memory) Get(ctx context.Context, account string) (string, error) {
	if err := m.check(ctx); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.entries[account]
	if !ok {
		return "", memoryBackend.notFound(account)
	}
	return v, nil
}

// Set implements Keychain.
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

// Delete implements Keychain.
func (m *Memory) Delete(ctx context.Context, account string) error {
	if err := m.check(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[account]; !ok {
		return memoryBackend.notFound(account)
	}
	delete(m.entries, account)
	return nil
}

// Accounts returns the accounts that hold an entry, sorted, for assertions in tests.
func (m *Memory) Accounts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.entries))
}

func (m *Memory) check(ctx context.Context) error {
	if m.Err != nil {
		return m.Err
	}
	if err := ctx.Err(); err != nil {
		return memoryBackend.expired(err, 0)
	}
	return nil
}
