package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/fail"
)

func TestParseURL(t *testing.T) {
	tru, fal := true, false
	for _, tc := range []struct {
		raw  string
		want Location
	}{
		{"file:///srv/vsync", Location{Endpoint: "file:///srv/vsync", Bucket: "vsync"}},
		{"file:///srv/vsync#team", Location{Endpoint: "file:///srv/vsync", Bucket: "team"}},
		{"file:///C:/Users/me/store", Location{Endpoint: "file:///C:/Users/me/store", Bucket: "vsync"}},
		{"https://minio.example:9000/bkt", Location{Endpoint: "https://minio.example:9000", Bucket: "bkt", UseSSL: &tru}},
		{"http://127.0.0.1:7070/bkt/", Location{Endpoint: "http://127.0.0.1:7070", Bucket: "bkt", UseSSL: &fal}},
		{"s3://bkt", Location{Endpoint: "https://s3.eu-west-1.amazonaws.com", Bucket: "bkt"}},
	} {
		got, err := ParseURL(tc.raw, "eu-west-1")
		if err != nil || got.Endpoint != tc.want.Endpoint || got.Bucket != tc.want.Bucket ||
			(got.UseSSL == nil) != (tc.want.UseSSL == nil) || (got.UseSSL != nil && *got.UseSSL != *tc.want.UseSSL) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
		if got.IsFile() != strings.HasPrefix(tc.raw, "file:") {
			t.Errorf("ParseURL(%q).IsFile() = %v", tc.raw, got.IsFile())
		}
	}
	for _, raw := range []string{
		"", "ftp://host/bkt", "https://host", "https://host/a/b", "s3://",
		"https://key:secret@host/bkt", "file://user:pw@/srv", "http://[::1/bkt",
		"https://key:se%zzcret@host/bkt", // url.Parse fails, and its error quotes the URL
		"file:///" + strings.Repeat("a", maxURL),
	} {
		if got, err := ParseURL(raw, "us-east-1"); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", raw, got)
		} else if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), ":pw") {
			t.Errorf("ParseURL(%q): the error shows the credentials: %v", raw, err)
		}
	}
}

// TestDefaultStoreOnWindows: the default store of a Windows machine is a drive
// folder. The URL init writes for it must name the same folder when the store
// opens it and when export checks whether it lies in the home folder; the two
// once read it differently (file://C:/... read as host "C:" by one of them).
func TestDefaultStoreOnWindows(t *testing.T) {
	const dir = `C:\Users\me\.local\share\git-vsync\store`
	u := fileURL(dir, true)
	if u != "file:///C:/Users/me/.local/share/git-vsync/store" {
		t.Errorf("fileURL(%q) = %q", dir, u)
	}
	loc, err := ParseURL(u, "us-east-1")
	if err != nil || !loc.IsFile() {
		t.Fatalf("ParseURL(%q) = %+v, %v", u, loc, err)
	}
	for _, ep := range []string{loc.Endpoint, "file://C:/Users/me/.local/share/git-vsync/store"} {
		if got, ok := fileDir(ep, "windows"); !ok || got != dir {
			t.Errorf("fileDir(%q, windows) = %q, %v; want %q", ep, got, ok, dir)
		}
	}
	if got, ok := fileDir(loc.Endpoint, "linux"); !ok || got != "/C:/Users/me/.local/share/git-vsync/store" {
		t.Errorf("fileDir on linux = %q, %v", got, ok)
	}
	for _, ep := range []string{"https://host", "file://relative/dir", "", "s3.amazonaws.com"} {
		if got, ok := fileDir(ep, "linux"); ok {
			t.Errorf("fileDir(%q) = %q, want not a folder", ep, got)
		}
	}
}

// FuzzParseURL: any input is refused or gives a location Open can take, and a
// file location names a folder or is refused the same way by Open.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"file:///srv/x#b", "file://C:/x", "https://h:1/b", "s3://b", "http://u:p@h/b", "file:x", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := ParseURL(raw, "us-east-1")
		if err != nil {
			return
		}
		if loc.Bucket == "" || loc.Endpoint == "" {
			t.Fatalf("ParseURL(%q) = %+v: empty part", raw, loc)
		}
		if strings.Contains(loc.Endpoint, "@") && !loc.IsFile() {
			t.Fatalf("ParseURL(%q) kept user info: %q", raw, loc.Endpoint)
		}
		_, fileErr := fileRoot(loc.Endpoint, "linux")
		if _, ok := fileDir(loc.Endpoint, "linux"); ok != (loc.IsFile() && fileErr == nil) {
			t.Fatalf("fileDir and fileRoot disagree on %q", loc.Endpoint)
		}
	})
}

// TestErrorCodes: each kind of store error carries its exit code and a hint,
// wrapped or not, and AsFail gives exactly those.
func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		kind error
		code fail.Code
	}{
		{ErrStalled, fail.Unreachable},
		{ErrUnreachable, fail.Unreachable},
		{ErrAccessDenied, fail.Unreachable},
		{ErrNoSuchBucket, fail.Unreachable},
		{ErrNotFound, fail.Failure},
		{ErrPreconditionFailed, fail.Failure},
		{ErrTooLarge, fail.Failure},
		{nil, fail.Failure},
	} {
		e := &Error{Op: "get", Store: "s3://b @ https://h", Key: "k", Kind: tc.kind, Err: errors.New("cause")}
		if e.Code() != tc.code || e.Hint() == "" {
			t.Errorf("%v: Code %d Hint %q, want code %d and a hint", tc.kind, e.Code(), e.Hint(), tc.code)
		}
		fe := AsFail(fmt.Errorf("context: %w", e), "read latest")
		if fail.CodeOf(fe) != tc.code || fail.HintOf(fe) != e.Hint() || !strings.HasPrefix(fe.Error(), "read latest: context: get ") {
			t.Errorf("%v: AsFail = %v (code %d, hint %q)", tc.kind, fe, fail.CodeOf(fe), fail.HintOf(fe))
		}
	}
	if len(kindCodes) != 4 {
		t.Errorf("kindCodes has %d rows: add the new kind to this test", len(kindCodes))
	}
}

// TestLayoutVersionOf: VersionOf reads back exactly the keys Version writes.
func TestLayoutVersionOf(t *testing.T) {
	l := EnvLayout("acme_web", "dev")
	if ts, ok := l.VersionOf(l.Version("20260102T030405Z")); !ok || ts != "20260102T030405Z" {
		t.Errorf("VersionOf(Version) = %q, %v", ts, ok)
	}
	for _, key := range []string{
		l.Latest(), l.Audit(), l.Probe(), l.Versions() + ".enc", l.Versions() + "a/b.enc",
		l.Versions() + "x.zip", EnvLayout("acme_web", "prod").Version("20260102T030405Z"),
	} {
		if ts, ok := l.VersionOf(key); ok {
			t.Errorf("VersionOf(%q) = %q, want no version", key, ts)
		}
	}
	if p := l.Probe(); !strings.HasPrefix(p, l.Prefix) {
		t.Errorf("probe key %q outside the env", p)
	}
}
