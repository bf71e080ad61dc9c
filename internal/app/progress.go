package app

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/git-vsync/git-vsync/internal/store"
)

// progressMin: transfers smaller than this never show a progress line; a short
// wait needs no meter.
const progressMin = 4 << 20

// progress draws one self-overwriting line on a terminal for a long upload or
// download: bytes, files when known, rate. It is nil (and every method a no-op)
// when App.Progress is unset (not a terminal, or --quiet).
type progress struct {
	w     io.Writer
	label string
	total int64 // 0 = unknown
	files int   // 0 = unknown
	now   func() time.Time

	mu    sync.Mutex
	start time.Time
	done  int64
	shown bool
	last  time.Time
}

func (a *App) newProgress(label string, total int64, files int) *progress {
	if a.Progress == nil || (total > 0 && total < progressMin) {
		return nil
	}
	now := a.Now
	if now == nil {
		now = time.Now
	}
	return &progress{w: a.Progress, label: label, total: total, files: files, now: now, start: now()}
}

// read counts n bytes read at off. A read at offset 0 after others starts a new
// pass (the SDK hashes the body, then sends it; a retry sends it again).
func (p *progress) read(off int64, n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if off == 0 && p.done > 0 {
		p.done, p.start = 0, p.now()
	}
	p.addLocked(int64(n))
}

// wrote counts n bytes received.
func (p *progress) wrote(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addLocked(int64(n))
}

func (p *progress) addLocked(n int64) {
	p.done += n
	if p.total > 0 && p.done > p.total {
		p.done = p.total
	}
	if p.done < progressMin && !p.shown {
		return
	}
	now := p.now()
	if p.shown && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.draw(now)
	p.shown, p.last = true, now
}

func (p *progress) draw(now time.Time) {
	line := p.label + ": " + megabytes(p.done)
	if p.total > 0 {
		line += fmt.Sprintf(" / %s (%d%%)", megabytes(p.total), p.done*100/p.total)
	}
	if p.files > 0 {
		line += fmt.Sprintf(", %d files", p.files)
	}
	if s := now.Sub(p.start).Seconds(); s > 0 {
		line += ", " + megabytes(int64(float64(p.done)/s)) + "/s"
	}
	// \r and "erase to end of line": the line redraws in place.
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
}

// finish draws the final state and ends the line (when anything was shown).
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		p.draw(p.now())
		fmt.Fprintln(p.w)
	}
}

func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// setTotal sets the size once it is known (a bundle uploading while it is sealed).
func (p *progress) setTotal(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = n
}

// progressStream counts what an upload of a growing bundle reads.
type progressStream struct {
	store.StreamBody
	p *progress
}

func (r progressStream) ReadAt(b []byte, off int64) (int, error) {
	n, err := r.StreamBody.ReadAt(b, off)
	r.p.read(off, n)
	return n, err
}

// progressReaderAt counts what an upload reads.
type progressReaderAt struct {
	r io.ReaderAt
	p *progress
}

func (r progressReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(b, off)
	r.p.read(off, n)
	return n, err
}

// progressWriter counts what a download writes.
type progressWriter struct {
	w io.Writer
	p *progress
}

// ETagUnused: a version is never replaced, so a download has no use for its
// ETag (the file store then does not hash the bundle for it).
func (progressWriter) ETagUnused() {}

func (w progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.wrote(n)
	return n, err
}
