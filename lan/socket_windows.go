package lan

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// On Windows SO_REUSEADDR alone lets sockets share a port.
func control(network, address string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_REUSEADDR, 1)
		if err == nil {
			err = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_BROADCAST, 1)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}
