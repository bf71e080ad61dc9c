package testenv

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what a FaultProxy does to a request that a rule matches.
type Fault int

const (
	Pass       Fault = iota // forward and answer
	DropReply               // forward (the server applies it), then close the connection without an answer
	ResetReply              // forward, then reset the connection (TCP RST) without an answer
	Fail5xx                 // forward, then answer 503 instead of the server's answer
	Stall                   // forward, then hold the answer until the client gives up or Release
	StallFirst              // hold the request before forwarding it (the server never sees it)
	Refuse                  // answer 503 without forwarding (a store that broke down)
	// StallUpload stops reading the request body after Bytes bytes and holds
	// the connection open until the client gives up or Release: the client's
	// writes block once the socket buffers are full.
	StallUpload
	// StallDownload forwards, sends the answer's headers and the first Bytes
	// bytes of its body, then holds the connection open until the client gives
	// up or Release.
	StallDownload
	// Throttle moves Bytes bytes of the request body and of the answer's body
	// every Every: slow, but never silent for longer than Every.
	Throttle
)

var faultNames = []string{"pass", "drop", "reset", "5xx", "stall", "stall-first", "refuse", "stall-upload", "stall-download", "throttle"}

// FaultRule picks requests by method and by a substring of the path (the bucket
// key); Times bounds how often it applies (0: always).
type FaultRule struct {
	Method string // "" any
	Path   string // substring of the URL path; "" any
	Fault  Fault
	Times  int
	// After makes the rule apply only from the Nth matching request on (0: at once).
	After int
	// ThenDown makes the proxy stop listening once this rule fired: every later
	// request meets a refused connection (a store that went away).
	ThenDown bool
	// Bytes and Every shape StallUpload, StallDownload and Throttle.
	Bytes int64
	Every time.Duration
	seen  int
}

// FaultProxy is an HTTP reverse proxy in front of an S3 server that injects the
// faults of its rules: answers lost after the server applied a write, 5xx
// after applying, stalls. The client signs for the proxy's host, which is
// passed on unchanged, so SigV4 holds.
type FaultProxy struct {
	URL      string // http://127.0.0.1:PORT
	upstream *url.URL
	srv      *httptest.Server
	tr       *http.Transport

	mu      sync.Mutex
	rules   []*FaultRule
	log     []string // "METHOD path fault" of every request, in order
	release chan struct{}
}

// NewFaultProxy starts a proxy to upstream (an http endpoint) for the test.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	p, err := StartFaultProxy(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// StartFaultProxy is NewFaultProxy for callers without a testing.TB
// (testscript commands): call Close when done.
func StartFaultProxy(upstream string) (*FaultProxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{upstream: u, tr: &http.Transport{DisableKeepAlives: true}, release: make(chan struct{})}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	// One connection per request, so that Down refuses every later one.
	p.srv.Config.SetKeepAlivesEnabled(false)
	p.srv.Start()
	p.URL = p.srv.URL
	return p, nil
}

// Close releases held requests and stops the proxy.
func (p *FaultProxy) Close() {
	p.Release()
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// Release lets every stalled request go on (they answer as the server did).
func (p *FaultProxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.release:
	default:
		close(p.release)
	}
}

// Set replaces the rules (and re-arms Release).
func (p *FaultProxy) Set(rules ...FaultRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
	for i := range rules {
		r := rules[i]
		p.rules = append(p.rules, &r)
	}
	select {
	case <-p.release:
		p.release = make(chan struct{})
	default:
	}
}

// Log returns "METHOD path fault" for every request so far.
func (p *FaultProxy) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Down stops the proxy from accepting connections: the store is unreachable.
func (p *FaultProxy) Down() { p.srv.Listener.Close() }

func (p *FaultProxy) pick(r *http.Request) (FaultRule, bool, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var picked FaultRule
	down := false
	for _, rule := range p.rules {
		if (rule.Method != "" && rule.Method != r.Method) || !strings.Contains(r.URL.Path, rule.Path) {
			continue
		}
		rule.seen++
		if rule.seen <= rule.After || (rule.Times > 0 && rule.seen > rule.After+rule.Times) {
			continue
		}
		picked, down = *rule, rule.ThenDown
		break
	}
	p.log = append(p.log, r.Method+" "+r.URL.Path+" "+faultNames[picked.Fault])
	return picked, down, p.release
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	rule, down, release := p.pick(r)
	f := rule.Fault
	if down {
		p.Down()
	}
	switch f {
	case Refuse:
		http.Error(w, "injected fault", http.StatusServiceUnavailable)
		return
	case StallFirst:
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.upstream.Scheme, p.upstream.Host
	out.Host = r.Host // the client signed for the proxy's host
	switch f {
	case StallUpload:
		out.Body = &heldReader{r: r.Body, left: rule.Bytes, release: release, done: r.Context().Done()}
	case Throttle:
		out.Body = &throttledReader{r: r.Body, chunk: rule.Bytes, every: rule.Every}
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch f {
	case DropReply, ResetReply:
		hijack(w, f == ResetReply)
		return
	case Fail5xx:
		http.Error(w, "injected fault", http.StatusServiceUnavailable)
		return
	case Stall:
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	switch f {
	case StallDownload:
		w.Write(body[:min(int64(len(body)), rule.Bytes)])
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return
	case Throttle:
		for len(body) > 0 {
			n := min(int64(len(body)), rule.Bytes)
			if _, err := w.Write(body[:n]); err != nil {
				return
			}
			http.NewResponseController(w).Flush()
			body = body[n:]
			if len(body) > 0 {
				time.Sleep(rule.Every)
			}
		}
		return
	}
	w.Write(body)
}

// heldReader passes the first left bytes of r on, then blocks until release or
// done and fails.
type heldReader struct {
	r       io.ReadCloser
	left    int64
	release chan struct{}
	done    <-chan struct{}
}

func (h *heldReader) Read(p []byte) (int, error) {
	if h.left <= 0 {
		select {
		case <-h.release:
		case <-h.done:
		}
		return 0, errors.New("faultproxy: the upload was held")
	}
	n, err := h.r.Read(p[:min(int64(len(p)), h.left)])
	h.left -= int64(n)
	return n, err
}

func (h *heldReader) Close() error { return h.r.Close() }

// throttledReader passes at most chunk bytes of r on every every.
type throttledReader struct {
	r     io.ReadCloser
	chunk int64
	every time.Duration
	left  int64
	next  time.Time
}

func (t *throttledReader) Read(p []byte) (int, error) {
	if t.left <= 0 {
		time.Sleep(time.Until(t.next))
		t.left, t.next = t.chunk, time.Now().Add(t.every)
	}
	n, err := t.r.Read(p[:min(int64(len(p)), t.left)])
	t.left -= int64(n)
	return n, err
}

func (t *throttledReader) Close() error { return t.r.Close() }

// hijack closes the client connection without an answer; with reset, as a TCP RST.
func hijack(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	conn.Close()
}
