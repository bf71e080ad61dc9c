package fanout

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits of the REST client: a stuck server fails one request, not the run.
const (
	requestTimeout = 30 * time.Second
	maxAttempts    = 5
	backoffMin     = 200 * time.Millisecond
	backoffMax     = 5 * time.Second
	maxResponse    = 4 << 20 // bounded reads of every response
)

// endpoint parses the base URL of an API that a route or the environment names
// (what says which): http(s) with a host and no user or password, which would
// show in plans, --json and the audit log (and Go's client would send them).
// A refused value is never quoted: it may hold exactly those.
func endpoint(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s is not an http(s) URL", what)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s carries a user or password (user:password@host): leave them out, they would show in plans, --json and the audit log (the token comes from the environment)", what)
	}
	return u, nil
}

// sameHostRedirect follows at most 5 redirects, each to the scheme and host of
// the first request: credentials go only where the address names.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if first := via[0].URL; req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("%w (%s), where the credentials are not sent", errOtherHost, req.URL.Host)
	}
	return nil
}

var errOtherHost = errors.New("redirected to another host")

// defaultHTTP is the client of REST targets without one of their own.
func defaultHTTP() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	t.ResponseHeaderTimeout = requestTimeout
	return &http.Client{Transport: t, Timeout: requestTimeout}
}

// rest is a small JSON client: bounded reads, retries with jittered backoff on
// 429, 5xx and transport errors, and errors that name the request but never carry
// a request body.
type rest struct {
	http  *http.Client
	base  string                                           // no trailing slash
	auth  func(ctx context.Context, r *http.Request) error // adds credentials
	what  string                                           // "GitHub", "Vault", … for messages
	sleep func(time.Duration)                              // tests shorten it
}

// APIError is a non-2xx answer.
type APIError struct {
	What    string
	Method  string
	Path    string
	Status  int
	Message string // the server's message, clipped
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s %s: HTTP %d", e.What, e.Method, e.Path, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// statusOf returns the HTTP status of an APIError, or 0.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// do sends a request with body (JSON-encoded unless nil) and decodes a 2xx answer
// into out (when not nil). ok lists extra statuses that count as success.
func (c *rest) do(ctx context.Context, method, path string, body, out any, ok ...int) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	backoff := backoffMin
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := c.once(ctx, method, path, payload, out, ok)
		if err == nil {
			return status, nil
		}
		retry := status == http.StatusTooManyRequests || status >= 500 || (status == 0 && ctx.Err() == nil && !isPermanent(err))
		if !retry || attempt >= maxAttempts {
			return status, err
		}
		wait := backoff + rand.N(backoff/2+1)
		if retryAfter > 0 && retryAfter < backoffMax*4 {
			wait = retryAfter
		}
		sleep := c.sleep
		if sleep == nil {
			sleep = func(d time.Duration) {
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-ctx.Done():
				case <-t.C:
				}
			}
		}
		sleep(wait)
		if ctx.Err() != nil {
			return status, ctx.Err()
		}
		backoff = min(backoff*2, backoffMax)
	}
}

// permanentError is a failure that a retry cannot fix (bad URL, bad credentials).
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func (c *rest) once(ctx context.Context, method, path string, payload []byte, out any, ok []int) (status int, retryAfter time.Duration, err error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, 0, permanentError{err}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "git-vsync")
	if c.auth != nil {
		if err := c.auth(ctx, req); err != nil {
			return 0, 0, permanentError{fmt.Errorf("%s credentials: %w", c.what, err)}
		}
	}
	cl := c.http
	if cl == nil {
		cl = defaultHTTP()
	}
	// A copy, so that whichever client a target brings follows redirects only
	// on the same host: Go forwards headers such as X-Vault-Token to any host
	// a redirect names (it drops only Authorization and cookies, and only
	// across domains).
	same := *cl
	same.CheckRedirect = sameHostRedirect
	resp, err := same.Do(req)
	if err != nil {
		// The transport error names the URL, never the body.
		err = fmt.Errorf("%s %s %s: %w", c.what, method, path, stripURLError(err))
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) || errors.Is(err, errOtherHost) {
			return 0, 0, permanentError{err} // a retry cannot fix trust, nor move the host
		}
		return 0, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s %s: read the answer: %w", c.what, method, path, err)
	}
	if len(data) > maxResponse {
		return resp.StatusCode, 0, permanentError{fmt.Errorf("%s %s %s: answer larger than %d bytes", c.what, method, path, maxResponse)}
	}
	success := resp.StatusCode >= 200 && resp.StatusCode < 300
	for _, s := range ok {
		success = success || resp.StatusCode == s
	}
	if !success {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, retryAfter, &APIError{What: c.what, Method: method, Path: path, Status: resp.StatusCode, Message: apiMessage(data)}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, 0, permanentError{fmt.Errorf("%s %s %s: unexpected answer (%d bytes, not the JSON expected)", c.what, method, path, len(data))}
		}
	}
	return resp.StatusCode, 0, nil
}

// stripURLError keeps the cause of a *url.Error without repeating the URL (which
// may carry a query with a token on some APIs).
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// apiMessage extracts a short message from the usual JSON error shapes.
func apiMessage(data []byte) string {
	var doc struct {
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
		Error   any      `json:"error"`
	}
	msg := ""
	if json.Unmarshal(data, &doc) == nil {
		switch {
		case doc.Message != "":
			msg = doc.Message
		case len(doc.Errors) > 0:
			msg = strings.Join(doc.Errors, "; ")
		case doc.Error != nil:
			switch v := doc.Error.(type) {
			case string:
				msg = v
			case map[string]any:
				if m, ok := v["message"].(string); ok {
					msg = m
				}
			}
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}
