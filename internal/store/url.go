package store

import (
	"errors"
	"net/url"
	"runtime"
	"strings"
)

// Location is where a store URL points: the "s3" object of a config without its
// credentials and region.
type Location struct {
	Endpoint string // "file:///abs/dir", "http(s)://host[:port]", "https://s3.<region>.amazonaws.com"
	Bucket   string
	UseSSL   *bool // set for http:// and https:// URLs only
}

// IsFile reports whether l is a file store (a folder), which needs no credentials.
func (l Location) IsFile() bool { return isFileEndpoint(l.Endpoint) }

// URLHint is the next step after a store URL ParseURL refused.
const URLHint = "use file:///path/to/folder, https://host[:port]/bucket or s3://bucket"

// maxURL bounds a store URL; no endpoint plus bucket comes near it.
const maxURL = 4096

// ParseURL reads a store URL as `init --store` takes it: file:///dir[#bucket]
// (bucket "vsync" by default), http(s)://host[:port]/bucket or s3://bucket, the
// last on AWS S3 in region. Credentials in the URL are refused: they would show
// in the process list. The folder of a file:// URL is read by the same code as
// the file store's (fileRoot), so what init accepts is what Open opens.
func ParseURL(raw, region string) (Location, error) {
	if len(raw) > maxURL {
		return Location{}, errors.New("longer than 4096 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, credentials and all.
		return Location{}, errors.New("not a valid URL")
	}
	if u.User != nil {
		return Location{}, errors.New("credentials do not belong in the URL (they would show in the process list); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	switch u.Scheme {
	case "file":
		bucket := u.Fragment
		if bucket == "" {
			bucket = "vsync"
		}
		u.Fragment, u.RawFragment = "", ""
		return Location{Endpoint: u.String(), Bucket: bucket}, nil
	case "http", "https":
		bucket := strings.Trim(u.Path, "/")
		if bucket == "" || strings.Contains(bucket, "/") {
			return Location{}, errors.New("name exactly one bucket in the path")
		}
		ssl := u.Scheme == "https"
		return Location{Endpoint: u.Scheme + "://" + u.Host, Bucket: bucket, UseSSL: &ssl}, nil
	case "s3":
		if u.Host == "" {
			return Location{}, errors.New("no bucket")
		}
		return Location{Endpoint: "https://s3." + region + ".amazonaws.com", Bucket: u.Host}, nil
	}
	return Location{}, errors.New("unknown scheme")
}

// FileDir returns the folder a file:// endpoint names on this OS; ok is false
// for any other endpoint and for a file:// endpoint Open would refuse.
func FileDir(endpoint string) (dir string, ok bool) { return fileDir(endpoint, runtime.GOOS) }

func fileDir(endpoint, goos string) (string, bool) {
	if !isFileEndpoint(endpoint) {
		return "", false
	}
	dir, err := fileRoot(endpoint, goos)
	return dir, err == nil
}

// FileURL renders an absolute folder of this OS as a file:// endpoint, the
// inverse of FileDir (C:\Users\me\store becomes file:///C:/Users/me/store).
func FileURL(dir string) string { return fileURL(dir, runtime.GOOS == "windows") }
