package rqe1

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkSealOpen1MiB(b *testing.B) {
	key := make([]byte, 32)
	pt := make([]byte, 1<<20)
	b.SetBytes(int64(len(pt)))
	for i := 0; i < b.N; i++ {
		ct, err := Seal(key, pt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Open(key, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// The streaming seal and open of 16 MiB through temp files' worth of chunks.
func BenchmarkSealFile16MiB(b *testing.B) {
	key := make([]byte, 32)
	pt := make([]byte, 16<<20)
	b.SetBytes(int64(len(pt)))
	for i := 0; i < b.N; i++ {
		if _, err := SealFile(key, io.Discard, bytes.NewReader(pt)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenFile16MiB(b *testing.B) {
	key := make([]byte, 32)
	env, err := Seal(key, make([]byte, 16<<20))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(env) - MinSize))
	for i := 0; i < b.N; i++ {
		if err := OpenFile(key, bytes.NewReader(env), int64(len(env)), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// The GHASH half alone (the verification pass of OpenAt).
func BenchmarkVerify16MiB(b *testing.B) {
	key := make([]byte, 32)
	env, err := Seal(key, make([]byte, 16<<20))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(env) - MinSize))
	for i := 0; i < b.N; i++ {
		if _, err := OpenAt(key, bytes.NewReader(env), int64(len(env))); err != nil {
			b.Fatal(err)
		}
	}
}
