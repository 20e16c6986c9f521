//go:build !unix && !windows

package lan

import (
	"errors"
	"syscall"
)

func control(network, address string, c syscall.RawConn) error {
	return errors.New("lan: UDP broadcast is not supported on this platform")
}
