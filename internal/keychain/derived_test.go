package keychain

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

var testAES = bytes.Repeat([]byte{7}, derivedLen)

func TestDerivedRoundTrip(t *testing.T) {
	v := EncodeDerived("key", "salt", 1000, testAES)
	if !strings.HasPrefix(v, "gv1.") || len(v) > maxDerived {
		t.Fatalf("EncodeDerived = %q (%d bytes)", v, len(v))
	}
	got, err := DecodeDerived(v, "key", "salt", 1000)
	if err != nil || !bytes.Equal(got, testAES) {
		t.Fatalf("DecodeDerived = %x, %v", got, err)
	}
}

// Every field is bound: a value of another key, salt or count is refused, and so is
// one whose key or tag was altered or whose shape is not exactly gv1.
func TestDerivedRefuses(t *testing.T) {
	v := EncodeDerived("key", "salt", 1000, testAES)
	p := strings.Split(v, ".")
	other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, derivedLen))
	short := base64.StdEncoding.EncodeToString(testAES[:31])
	for name, c := range map[string]struct {
		value, key, salt string
		iter             int
	}{
		"other key":         {v, "kex", "salt", 1000},
		"other salt":        {v, "key", "salu", 1000},
		"other count":       {v, "key", "salt", 600000},
		"shifted fields":    {EncodeDerived("ke", "ysalt", 1000, testAES), "key", "salt", 1000},
		"altered key":       {p[0] + "." + other + "." + p[2], "key", "salt", 1000},
		"altered tag":       {p[0] + "." + p[1] + "." + other, "key", "salt", 1000},
		"other version":     {"gv2." + p[1] + "." + p[2], "key", "salt", 1000},
		"short key":         {p[0] + "." + short + "." + p[2], "key", "salt", 1000},
		"unpadded":          {p[0] + "." + strings.TrimRight(p[1], "=") + "." + p[2], "key", "salt", 1000},
		"extra field":       {v + ".x", "key", "salt", 1000},
		"trailing newline":  {v + "\n", "key", "salt", 1000},
		"oversize":          {v + strings.Repeat("A", maxDerived), "key", "salt", 1000},
		"empty":             {"", "key", "salt", 1000},
		"the key itself":    {"Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8=", "key", "salt", 1000},
		"url-safe encoding": {strings.NewReplacer("+", "-", "/", "_").Replace(v), "key", "salt", 1000},
	} {
		if name == "url-safe encoding" && !strings.ContainsAny(v, "+/") {
			continue
		}
		if k, err := DecodeDerived(c.value, c.key, c.salt, c.iter); !errors.Is(err, ErrDerivedInvalid) || k != nil {
			t.Errorf("%s: DecodeDerived = %x, %v; want ErrDerivedInvalid", name, k, err)
		}
	}
}

func FuzzDecodeDerived(f *testing.F) {
	f.Add(EncodeDerived("key", "salt", 1000, testAES), "key", "salt")
	f.Add("gv1..", "", "")
	f.Add("gv1.AAAA.AAAA", "k", "s")
	f.Fuzz(func(t *testing.T, value, key, salt string) {
		k, err := DecodeDerived(value, key, salt, 1000)
		if err != nil {
			if k != nil || !errors.Is(err, ErrDerivedInvalid) {
				t.Fatalf("failure with a key or another error: %x, %v", k, err)
			}
			return
		}
		// Only the exact encoding of the key it returns is accepted.
		if len(k) != derivedLen || EncodeDerived(key, salt, 1000, k) != value {
			t.Fatalf("accepted %q, which is not the encoding of %x", value, k)
		}
	})
}
