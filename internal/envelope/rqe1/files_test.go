package rqe1

import "io"

// Whole-stream sealing and opening over io.Writer/io.ReaderAt, as the tests and
// benchmarks drive the Writer and OpenAt the product uses.

// SealFile seals everything src holds into dst with a fresh random nonce and
// returns the number of bytes written to dst.
func SealFile(key []byte, dst io.Writer, src io.Reader) (int64, error) {
	w, err := NewWriter(key, dst)
	if err != nil {
		return 0, err
	}
	return sealFrom(w, src)
}

func sealFrom(w *Writer, src io.Reader) (int64, error) {
	if _, err := io.Copy(w, onlyReader{src}); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return w.Size(), nil
}

// onlyReader hides io.WriterTo, so io.Copy calls Write with its own buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// OpenFile authenticates the envelope of size bytes at src in a first pass and
// only then decrypts it into dst, so dst never receives unauthenticated
// plaintext. Errors are classified like Open's.
func OpenFile(key []byte, src io.ReaderAt, size int64, dst io.Writer) error {
	p, err := OpenAt(key, src, size)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(dst, onlyReader{io.NewSectionReader(p, 0, p.size)}, make([]byte, chunkSize))
	return err
}
