//go:build !linux

package vault

import (
	"errors"
	"os"
)

var errNoSyncfs = errors.New("no syncfs on this platform")

func syncFS(*os.File) error { return errNoSyncfs }
