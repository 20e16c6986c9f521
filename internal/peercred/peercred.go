// Package peercred reads the credentials of the process at the other end
// of a unix socket.
package peercred

import (
	"errors"
	"net"
)

// ErrUnsupported is returned where the platform cannot tell who the peer is.
var ErrUnsupported = errors.New("peercred: peer credentials are not available on this platform")

// UID returns the effective user id of the peer of c.
func UID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid := -1
	var ierr error
	if err := raw.Control(func(fd uintptr) { uid, ierr = peerUID(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, ierr
}
