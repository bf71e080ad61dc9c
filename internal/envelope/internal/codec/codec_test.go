package codec

import (
	"bytes"
	"errors"
	"testing"
)

func TestGunzipLimit(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 1000)
	if out, err := Gunzip(Gzip(data), 1000); err != nil || !bytes.Equal(out, data) {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := Gunzip(Gzip(data), 999); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("plain"), Gzip(data)[:20]} {
		if _, err := Gunzip(bad, 1<<20); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestMarshalCompact(t *testing.T) {
	got, err := MarshalCompact(map[string]any{"a": "<&>", "b": []int{1}})
	if err != nil || string(got) != `{"a":"<&>","b":[1]}` {
		t.Fatalf("%s %v", got, err)
	}
}
