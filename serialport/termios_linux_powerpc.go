//go:build linux && (ppc || ppc64 || ppc64le)

package serialport

import "golang.org/x/sys/unix"

// On PowerPC the plain termios already carries c_ispeed and c_ospeed, and
// there are no termios2 requests.
const (
	getTermiosReq = unix.TCGETS
	setTermiosReq = unix.TCSETS
)
