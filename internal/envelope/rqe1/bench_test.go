package rqe1

import "testing"

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
