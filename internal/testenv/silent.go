package testenv

import (
	"io"
	"net"
	"testing"
)

// SilentEndpoint returns an http endpoint on 127.0.0.1 that accepts
// connections and reads the requests but never answers, for response-timeout
// tests. It stops with the test.
func SilentEndpoint(t testing.TB) string {
	t.Helper()
	ep, stop, err := ListenSilent()
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(stop)
	return ep
}

// ListenSilent is SilentEndpoint for callers without a testing.TB (testscript
// commands): call stop when done.
func ListenSilent() (endpoint string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				go io.Copy(io.Discard, c)
				<-done
				c.Close()
			}()
		}
	}()
	return "http://" + l.Addr().String(), func() { close(done); l.Close() }, nil
}
