//go:build !windows

package store

import "os"

func openRead(p string) (*os.File, error) { return os.Open(p) }

func renameReplace(from, to string) error { return os.Rename(from, to) }
