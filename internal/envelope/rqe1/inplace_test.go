package rqe1

import (
	"bytes"
	"errors"
	"testing"

	"github.com/git-vsync/git-vsync/internal/envelope"
)

func TestInPlaceInteroperates(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	pt := []byte("in place plaintext")
	buf := make([]byte, HeaderSize, HeaderSize+len(pt)+TagSize)
	buf = append(buf, pt...)
	sealed, err := SealInPlace(key, buf)
	if err != nil {
		t.Fatal(err)
	}
	if &sealed[0] != &buf[0] {
		t.Fatal("SealInPlace copied although the buffer had room for the tag")
	}
	got, err := Open(key, sealed)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open of an in-place seal: %q %v", got, err)
	}
	other, _ := Seal(key, pt)
	got, err = OpenInPlace(key, other)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("OpenInPlace of Seal: %q %v", got, err)
	}
	bad, _ := Seal(key, pt)
	bad[len(bad)-1] ^= 1
	if _, err := OpenInPlace(key, bad); !errors.Is(err, envelope.ErrWrongPassphrase) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := OpenInPlace(key, []byte("RQE2"+string(make([]byte, 40)))); !errors.Is(err, envelope.ErrUnsupportedSpecVersion) {
		t.Fatalf("version: %v", err)
	}
}
