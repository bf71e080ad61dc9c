package sls1

import (
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
)

// FuzzOpen runs at 1 iteration: at the wire count every new salt the fuzzer invents
// would cost a full key derivation.
func FuzzOpen(f *testing.F) {
	kdf.SetTestIterations(f, 1)
	valid, err := Seal(testPass, testPayload())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte("SLS1\x01aRQE1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Open(testPass, data)
		if err != nil {
			switch envelope.KindOf(err) {
			case envelope.KindBundleCorrupt, envelope.KindUnsupportedSpecVersion, envelope.KindWrongPassphrase:
			default:
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if p.Key != testKey {
			t.Fatal("opened to an unexpected key")
		}
	})
}
