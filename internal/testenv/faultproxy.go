package testenv

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
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
)

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
	seen     int
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
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{upstream: u, tr: &http.Transport{DisableKeepAlives: true}, release: make(chan struct{})}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	// One connection per request, so that Down refuses every later one.
	p.srv.Config.SetKeepAlivesEnabled(false)
	p.srv.Start()
	p.URL = p.srv.URL
	t.Cleanup(p.Close)
	return p
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

func (p *FaultProxy) pick(r *http.Request) (Fault, bool, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, down := Pass, false
	for _, rule := range p.rules {
		if (rule.Method != "" && rule.Method != r.Method) || !strings.Contains(r.URL.Path, rule.Path) {
			continue
		}
		rule.seen++
		if rule.seen <= rule.After || (rule.Times > 0 && rule.seen > rule.After+rule.Times) {
			continue
		}
		f, down = rule.Fault, rule.ThenDown
		break
	}
	p.log = append(p.log, r.Method+" "+r.URL.Path+" "+[]string{"pass", "drop", "reset", "5xx", "stall", "stall-first", "refuse"}[f])
	return f, down, p.release
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	f, down, release := p.pick(r)
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
	w.Write(body)
}

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
