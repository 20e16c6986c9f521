//go:build !linux && !darwin && !freebsd && !openbsd && !netbsd && !dragonfly && !windows

package serialport

import (
	"fmt"
	"net"
	"runtime"

	"github.com/go-multiserver/multiserver/stack"
)

// conn exists on this system only so that the package builds: openConn
// always fails.
type conn struct{ net.Conn }

func openConn(path string, baud int) (*conn, error) {
	return nil, fmt.Errorf("%w: serial ports on %s", stack.ErrNotSupported, runtime.GOOS)
}

func missingDevice(error) bool { return false }

func (c *conn) setOnClose(func()) {}
