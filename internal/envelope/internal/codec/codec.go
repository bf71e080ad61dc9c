// Package codec holds the gzip and JSON helpers shared by the SLS1 and runtime token
// formats: bounded decompression and compact JSON the way the TypeScript tool writes it.
package codec

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
)

// ErrTooLarge means the decompressed data exceeded the caller's limit.
var ErrTooLarge = errors.New("decompressed data exceeds the size limit")

// Gzip compresses b with a standard gzip header.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b) // writes to a bytes.Buffer cannot fail
	zw.Close()
	return buf.Bytes()
}

// Gunzip decompresses b, refusing more than limit bytes of output so a small
// hostile input cannot exhaust memory.
func Gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}

// MarshalCompact is json.Marshal without HTML escaping, matching JSON.stringify.
func MarshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
