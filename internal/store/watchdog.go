package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// The transport's ResponseHeaderTimeout only starts once the request body is
// sent, and nothing bounds the reading of an answer's body: a server that stops
// reading an upload, or stops sending a download half-way, would hold a command
// forever. The watchdog bounds the silences of a transfer instead of its length
// (docs/design.md, "Timeouts"): while a request body is being sent, or a read of
// an answer's body is waiting, no byte moving for the response timeout cancels
// the request with a *StallError. A slow transfer that keeps moving is never cut.

// ErrStalled is wrapped by the error of a transfer that stopped moving; such an
// error is also ErrUnreachable.
var ErrStalled = errors.New("the transfer stalled")

// StallError: the server stopped taking the request body (Upload) or stopped
// sending the answer's body for Wait.
type StallError struct {
	Endpoint string
	Upload   bool
	Wait     time.Duration
}

func (e *StallError) Error() string {
	if e.Upload {
		return fmt.Sprintf("%s stopped reading the upload (no progress for %s)", e.Endpoint, e.Wait)
	}
	return fmt.Sprintf("%s stopped sending its answer (no progress for %s)", e.Endpoint, e.Wait)
}

// Timeout makes it a net.Error timeout: never retried (neverRetry), classified
// as unreachable.
func (e *StallError) Timeout() bool   { return true }
func (e *StallError) Temporary() bool { return false }

func (e *StallError) Is(target error) bool { return target == ErrStalled }

type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// watchdogClient wraps the SDK's HTTP client with a watchdog per request.
type watchdogClient struct {
	next     httpDoer
	wait     time.Duration
	endpoint string
	// expect bounds the wait for a "100 Continue" before the body is sent
	// anyway (the transport's ExpectContinueTimeout): not a silence of the server.
	expect time.Duration
}

// Phases of a request the watchdog looks at.
const (
	phaseIdle    int32 = iota // dialing, or waiting for the headers (other timeouts bound those)
	phaseSending              // the request body is on its way: the time since the last read of it counts
	phaseReading              // a read of the answer's body is waiting: its time counts
	phaseDone
)

type watch struct {
	c      *watchdogClient
	start  time.Time
	phase  atomic.Int32
	last   atomic.Int64 // time.Since(start) of the last progress, ns
	fired  atomic.Int32 // the phase it fired in, 0 if not
	cancel context.CancelFunc
	mu     sync.Mutex
	timer  *time.Timer
}

func (c *watchdogClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	w := &watch{c: c, start: time.Now(), cancel: cancel}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { w.progress(0); w.phase.CompareAndSwap(phaseIdle, phaseSending) },
		// The body waits for a "100 Continue" at most c.expect.
		Wait100Continue: func() { w.progress(c.expect) },
		Got100Continue:  func() { w.progress(0) },
		WroteRequest:    func(httptrace.WroteRequestInfo) { w.phase.CompareAndSwap(phaseSending, phaseIdle) },
	})
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &sendBody{ReadCloser: req.Body, w: w}
		if get := req.GetBody; get != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				b, err := get()
				if err != nil || b == nil || b == http.NoBody {
					return b, err
				}
				return &sendBody{ReadCloser: b, w: w}, nil
			}
		}
	}
	w.mu.Lock()
	w.timer = time.AfterFunc(c.wait, w.check)
	w.mu.Unlock()
	resp, err := c.next.Do(req)
	if err != nil {
		fired := w.fired.Load()
		w.stop()
		if fired == phaseSending {
			return nil, &StallError{Endpoint: c.endpoint, Upload: true, Wait: c.wait}
		}
		return nil, err
	}
	w.phase.Store(phaseIdle)
	if resp.Body == nil || resp.Body == http.NoBody {
		w.stop()
		return resp, nil
	}
	resp.Body = &recvBody{ReadCloser: resp.Body, w: w}
	return resp, nil
}

// progress notes that bytes moved; ahead pushes the mark into the future by a
// wait some other bound covers.
func (w *watch) progress(ahead time.Duration) {
	w.last.Store(int64(time.Since(w.start) + ahead))
}

// check runs on the timer: it fires when the current phase has been silent for
// the wait, and sets the timer again otherwise.
func (w *watch) check() {
	phase := w.phase.Load()
	next := w.c.wait
	if phase == phaseSending || phase == phaseReading {
		silent := time.Since(w.start) - time.Duration(w.last.Load())
		if silent >= w.c.wait {
			w.fired.Store(phase)
			w.cancel()
			return
		}
		next = w.c.wait - max(silent, 0)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase.Load() != phaseDone {
		w.timer.Reset(next)
	}
}

// stop ends the watch (and the request's context) once the request is over.
func (w *watch) stop() {
	w.phase.Store(phaseDone)
	w.mu.Lock()
	w.timer.Stop()
	w.mu.Unlock()
	w.cancel()
}

// sendBody marks progress each time the transport takes more of the body.
type sendBody struct {
	io.ReadCloser
	w *watch
}

func (b *sendBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.progress(0)
	return n, err
}

// recvBody arms the watchdog while a read waits for the server.
type recvBody struct {
	io.ReadCloser
	w *watch
}

func (b *recvBody) Read(p []byte) (int, error) {
	w := b.w
	w.progress(0)
	w.phase.CompareAndSwap(phaseIdle, phaseReading)
	n, err := b.ReadCloser.Read(p)
	w.phase.CompareAndSwap(phaseReading, phaseIdle)
	if err != nil {
		if w.fired.Load() == phaseReading {
			err = &StallError{Endpoint: w.c.endpoint, Wait: w.c.wait}
		}
		w.stop()
	}
	return n, err
}

func (b *recvBody) Close() error {
	err := b.ReadCloser.Close()
	b.w.stop()
	return err
}
