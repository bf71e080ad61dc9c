package store

import (
	"net/url"
	"strings"
	"testing"
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
