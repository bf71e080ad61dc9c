package fanouttest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// CAFile writes the server's certificate to a file (for VAULT_CACERT, SSL_CERT_FILE).
func CAFile(t testing.TB, srv *httptest.Server) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Client returns an HTTP client that trusts the given TLS test servers.
func Client(servers ...*httptest.Server) *http.Client {
	pool := x509.NewCertPool()
	for _, s := range servers {
		pool.AddCert(s.Certificate())
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// fake is what every fake server holds: the lock its handlers and tests take (tests
// take it to look at or change the server's state), and the count of writes it
// applied, so a test can assert that an unchanged plan wrote nothing.
type fake struct {
	Mu      sync.Mutex
	nWrites int
}

// Writes returns how many writes the server applied.
func (f *fake) Writes() int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.nWrites
}
