package kdf

// The test-only way to lower the PBKDF2 cost: the suite derives hundreds of keys and
// relies on 1000 iterations to stay fast. The setters take the test's handle through
// small interfaces, so this package does not import "testing" and a product path would
// have to invent a test handle to call them; make vet's deadcode check allows the
// functions of this file only and fails if any product code reaches them.

// TB is the part of testing.TB that SetTestIterations needs.
type TB interface {
	Helper()
	Cleanup(func())
}

// SetTestIterations sets the iteration count for the rest of the test tb and restores
// the previous count when tb ends. Not for parallel tests: the count is per process.
func SetTestIterations(tb TB, n int) {
	tb.Helper()
	if n <= 0 {
		panic("kdf: SetTestIterations needs a positive count")
	}
	prev := testIterations.Swap(int64(n))
	tb.Cleanup(func() { testIterations.Store(prev) })
}

// M is the part of *testing.M that SetTestIterationsMain needs.
type M interface{ Run() int }

// SetTestIterationsMain sets the iteration count for a whole test binary. Called
// first in TestMain, it also reaches the processes the binary re-executes as
// git-vsync (testscript commands, git hooks), whose TestMain runs again.
func SetTestIterationsMain(_ M, n int) {
	if n <= 0 {
		panic("kdf: SetTestIterationsMain needs a positive count")
	}
	testIterations.Store(int64(n))
}

// Derivations is the number of PBKDF2 runs of this process so far, for tests that
// prove a key was read rather than derived.
func Derivations(tb TB) int {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	return derivations
}

// ForgetCache empties the cache of derived keys, as a new process starts: the next
// Key of each pair derives again.
func ForgetCache(tb TB) {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	clear(cache)
}
