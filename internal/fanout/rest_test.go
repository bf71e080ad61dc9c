package fanout

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A redirect is followed on the same host, with the credentials; to another
// host it is refused at once (not retried), and that host sees no request: Go's
// client would otherwise forward a header such as X-Vault-Token there.
func TestRedirectsStayOnTheHost(t *testing.T) {
	var foreign atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		w.Write([]byte(`{}`))
	}))
	defer other.Close()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusTemporaryRedirect)
		case "/here":
			if r.Header.Get("X-Vault-Token") != "tok" {
				http.Error(w, "no token", http.StatusForbidden)
				return
			}
			w.Write([]byte(`{"ok":true}`))
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	c := &rest{http: srv.Client(), base: srv.URL, what: "Vault", sleep: func(time.Duration) {},
		auth: func(_ context.Context, r *http.Request) error { r.Header.Set("X-Vault-Token", "tok"); return nil }}
	var out struct{ OK bool }
	if _, err := c.do(context.Background(), http.MethodGet, "/moved", nil, &out); err != nil || !out.OK {
		t.Fatalf("same-host redirect: %v, %+v", err, out)
	}
	hits.Store(0)
	_, err := c.do(context.Background(), http.MethodGet, "/away", nil, nil)
	if !errors.Is(err, errOtherHost) {
		t.Fatalf("redirect to another host: %v", err)
	}
	if n := foreign.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d requests to the address, want 1 (no retry)", n)
	}
}
