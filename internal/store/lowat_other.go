//go:build !linux && !darwin

package store

import "syscall"

// limitUnsent: no TCP_NOTSENT_LOWAT here; the watchdog sees progress as the
// kernel's buffer drains.
func limitUnsent(network, address string, c syscall.RawConn) error { return nil }

const limitsUnsent = false
