//go:build linux && !ppc && !ppc64 && !ppc64le

package serialport

import "golang.org/x/sys/unix"

// The termios2 requests carry c_ispeed and c_ospeed, which BOTHER needs;
// x/sys's Termios has the termios2 layout.
const (
	getTermiosReq = unix.TCGETS2
	setTermiosReq = unix.TCSETS2
)
