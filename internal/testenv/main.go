package testenv

import (
	"os"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
)

// KDFIterations is the PBKDF2 cost the tests run at (the wire count is 600000): the
// suite derives hundreds of keys and stays fast only at this cost.
const KDFIterations = 1000

// LowerKDF lowers PBKDF2 to KDFIterations for the whole test binary. It belongs first
// in TestMain: processes the binary re-executes as git-vsync (testscript commands,
// git hooks) run TestMain again and so are lowered too.
func LowerKDF(m *testing.M) { kdf.SetTestIterationsMain(m, KDFIterations) }

// Main is the TestMain of a package whose tests derive keys or start real
// components: PBKDF2 lowered, the tests run, every versitygw and moto stopped.
func Main(m *testing.M) {
	LowerKDF(m)
	code := m.Run()
	StopAll()
	os.Exit(code)
}
