package store

import (
	"context"
	"io"
	"sync"
)

// StreamBody is the body of a PutStream: a file still being written. ReadAt
// serves any range below the size Ready reported.
type StreamBody interface {
	io.ReaderAt
	// Ready blocks until more than off bytes are written or the body is
	// complete, and returns the size written so far and whether it is final.
	// An error means the writer failed (or ctx ended): the put is abandoned.
	Ready(ctx context.Context, off int64) (n int64, final bool, err error)
}

// GrowingFile is a StreamBody over a file that its writer fills through Write
// and ends with Close: a bundle uploads while it is sealed, each part read back
// from the file (page cache) rather than held in memory.
type GrowingFile struct {
	f interface {
		io.Writer
		io.ReaderAt
	}
	mu    sync.Mutex
	n     int64
	final bool
	err   error // the writer's failure
	stop  error // the reader's failure: later writes fail with it
	wake  chan struct{}
}

// NewGrowingFile wraps f, empty and open for writing and reading.
func NewGrowingFile(f interface {
	io.Writer
	io.ReaderAt
}) *GrowingFile {
	return &GrowingFile{f: f, wake: make(chan struct{})}
}

// Write appends p to the file. After Stop it fails with the reader's error, so
// that a writer stops early once the upload has failed.
func (g *GrowingFile) Write(p []byte) (int, error) {
	g.mu.Lock()
	stop := g.stop
	g.mu.Unlock()
	if stop != nil {
		return 0, stop
	}
	n, err := g.f.Write(p)
	g.mu.Lock()
	g.n += int64(n)
	g.wakeLocked()
	g.mu.Unlock()
	return n, err
}

// Close ends the body: complete when err is nil, failed otherwise.
func (g *GrowingFile) Close(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.err = err
	} else {
		g.final = true
	}
	g.wakeLocked()
}

// Stop tells the writer that nobody reads any more: its next Write fails with err.
func (g *GrowingFile) Stop(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stop == nil {
		g.stop = err
	}
}

func (g *GrowingFile) wakeLocked() {
	close(g.wake)
	g.wake = make(chan struct{})
}

// ReadAt reads what was written.
func (g *GrowingFile) ReadAt(p []byte, off int64) (int, error) { return g.f.ReadAt(p, off) }

// Ready implements StreamBody.
func (g *GrowingFile) Ready(ctx context.Context, off int64) (int64, bool, error) {
	for {
		g.mu.Lock()
		n, final, err, wake := g.n, g.final, g.err, g.wake
		g.mu.Unlock()
		switch {
		case err != nil:
			return n, false, err
		case final || n > off:
			return n, final, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return n, false, ctx.Err()
		}
	}
}

// streamReader reads a StreamBody from the start as it grows.
type streamReader struct {
	ctx  context.Context
	body StreamBody
	off  int64
}

func (r *streamReader) Read(p []byte) (int, error) {
	n, final, err := r.body.Ready(r.ctx, r.off)
	if err != nil {
		return 0, err
	}
	if r.off >= n && final {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), n-r.off)]
	k, err := r.body.ReadAt(p, r.off)
	r.off += int64(k)
	if err == io.EOF && k == len(p) {
		err = nil
	}
	return k, err
}
