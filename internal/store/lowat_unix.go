//go:build linux || darwin

package store

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// limitUnsent keeps at most notSentLowat bytes of a request queued unsent in
// the socket: the kernel would otherwise buffer megabytes, so that a server
// which stopped reading (or reads slowly) shows as silence only once they are
// gone, and the request counts as sent long before the server has it. The
// bytes in flight are not limited, so the throughput is not either.
func limitUnsent(network, address string, c syscall.RawConn) error {
	// A kernel without the option only makes the watchdog coarser: its error
	// is not one to fail the connection on.
	return c.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, notSentLowat)
	})
}

const limitsUnsent = true
