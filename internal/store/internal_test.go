package store

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFileRoot(t *testing.T) {
	for _, tc := range []struct {
		ep, goos, want string
	}{
		{"file:///srv/vsync", "linux", "/srv/vsync"},
		{"FILE:///srv/vsync/", "linux", "/srv/vsync"},
		{"file://localhost/srv/a/../b", "darwin", "/srv/b"},
		{"file:///my%20dir/x", "linux", "/my dir/x"},
		{"file:///C:/Users/me/store", "windows", `C:\Users\me\store`},
		{"file:///c:/x/../y", "windows", `C:\y`},
		{`file:///C:\Users\me`, "windows", `C:\Users\me`},
		{"file://C:/Users/me", "windows", `C:\Users\me`},
		{"file://localhost/D:/s", "windows", `D:\s`},
		{"file:///C:", "windows", `C:\`},
		{"file://server/share/dir", "windows", `\\server\share\dir`},
		{"file://srv/sh", "windows", `\\srv\sh`},
	} {
		got, err := fileRoot(tc.ep, tc.goos)
		if err != nil || got != tc.want {
			t.Errorf("fileRoot(%q, %s) = %q, %v; want %q", tc.ep, tc.goos, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ ep, goos string }{
		{"file://relative/dir", "linux"},
		{"file:relative", "linux"},
		{"file:/abs", "linux"},
		{"file://./x", "linux"},
		{"file://~/x", "linux"},
		{"file://host/share", "linux"},
		{"file:///x?y", "linux"},
		{"file:///bad%zz", "linux"},
		{"file:///no-drive", "windows"},
		{"file://server", "windows"},
		{"file://./x", "windows"},
		{"https://x", "linux"},
	} {
		if got, err := fileRoot(tc.ep, tc.goos); err == nil {
			t.Errorf("fileRoot(%q, %s) = %q, want an error", tc.ep, tc.goos, got)
		}
	}
	// fileURL and fileRoot round-trip.
	for _, tc := range []struct{ p, goos string }{
		{"/srv/my dir/b", "linux"}, {`C:\Users\me\b`, "windows"}, {`\\server\share\b`, "windows"},
	} {
		u := fileURL(tc.p, tc.goos == "windows")
		if _, err := url.Parse(u); err != nil {
			t.Errorf("fileURL(%q) = %q is no URL", tc.p, u)
		}
		if back, err := fileRoot(u, tc.goos); err != nil || back != tc.p {
			t.Errorf("fileRoot(fileURL(%q)) = %q, %v", tc.p, back, err)
		}
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	f := false
	tr := true
	for _, tc := range []struct {
		ep   string
		ssl  *bool
		want string
	}{
		{"s3.example.com", nil, "https://s3.example.com"},
		{"s3.example.com:9000", &f, "http://s3.example.com:9000"},
		{"s3.example.com", &tr, "https://s3.example.com"},
		{"http://127.0.0.1:7070/", nil, "http://127.0.0.1:7070"},
		{"HTTPS://minio.local/sub/", &f, "https://minio.local/sub"},
		{"", nil, "https://s3.eu-west-1.amazonaws.com"},
	} {
		got, err := normalizeEndpoint(tc.ep, tc.ssl, "eu-west-1")
		if err != nil || got != tc.want {
			t.Errorf("normalizeEndpoint(%q) = %q, %v; want %q", tc.ep, got, err, tc.want)
		}
	}
	for _, ep := range []string{"https://user:pw@host", "ftp://host", "https://", "http://h/?x=1", "http://[::1"} {
		if got, err := normalizeEndpoint(ep, nil, "us-east-1"); err == nil {
			t.Errorf("normalizeEndpoint(%q) = %q, want an error", ep, got)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	s, err := Open(Config{Endpoint: "s3.example.com", Bucket: "b", AccessKeyID: "AKID", SecretAccessKey: "SECRET"})
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "s3://b @ https://s3.example.com" {
		t.Errorf("String() = %s", s.String())
	}
	for _, b := range []string{"a/b", "a b", "a?b", "../x"} {
		if _, err := Open(Config{Endpoint: "s3.example.com", Bucket: b}); err == nil {
			t.Errorf("bucket %q accepted", b)
		}
	}
	if _, err := Open(Config{Endpoint: "s3.example.com"}); err == nil {
		t.Error("a config without bucket opened")
	}
}

// TestClientsShareByKey: one client per endpoint, region, credentials and
// timeouts in a Clients; none shared without one.
func TestClientsShareByKey(t *testing.T) {
	k := clientKey{endpoint: "http://127.0.0.1:9", region: "us-east-1", accessKeyID: "a", secretAccessKey: "s", connect: time.Second, response: time.Minute}
	var cs Clients
	c := cs.client(k)
	if cs.client(k) != c {
		t.Error("the same settings got a second client")
	}
	for _, other := range []func(*clientKey){
		func(k *clientKey) { k.endpoint = "http://127.0.0.1:10" },
		func(k *clientKey) { k.region = "eu-west-1" },
		func(k *clientKey) { k.accessKeyID = "b" },
		func(k *clientKey) { k.secretAccessKey = "t" },
		func(k *clientKey) { k.accessKeyID, k.secretAccessKey = "", "" },
		func(k *clientKey) { k.connect = 2 * time.Second },
		func(k *clientKey) { k.response = time.Hour },
	} {
		o := k
		other(&o)
		if cs.client(o) == c {
			t.Errorf("%+v shares the client of %+v", o, k)
		}
	}
	var none *Clients
	if c1, c2 := none.client(k), none.client(k); c1 == c2 {
		t.Error("a nil Clients shared a client")
	}
	// Through Open: the buckets of one store share; the file store has no client.
	s1, err1 := cs.Open(Config{Endpoint: "http://127.0.0.1:9", Bucket: "one", AccessKeyID: "a", SecretAccessKey: "s"})
	s2, err2 := cs.Open(Config{Endpoint: "127.0.0.1:9", UseSSL: new(bool), Bucket: "two", AccessKeyID: "a", SecretAccessKey: "s"})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if s1.(*s3Store).client != s2.(*s3Store).client {
		t.Error("two buckets of one endpoint and keys got two clients")
	}
}
