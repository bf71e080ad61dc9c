package vsync_test

import (
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

// PBKDF2 at the tests' cost (testenv.KDFIterations); tests of the wire cost set it back.
func TestMain(m *testing.M) { testenv.Main(m) }
