//go:build darwin || freebsd || openbsd || netbsd || dragonfly

package serialport

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

const (
	getTermiosReq = unix.TIOCGETA
	setTermiosReq = unix.TIOCSETA
)

// darwinSpeeds are the rates macOS accepts through tcsetattr; others need
// the IOSSIOSPEED ioctl, which this package does not use.
var darwinSpeeds = map[int]bool{
	50: true, 75: true, 110: true, 134: true, 150: true, 200: true, 300: true,
	600: true, 1200: true, 1800: true, 2400: true, 4800: true, 7200: true,
	9600: true, 14400: true, 19200: true, 28800: true, 38400: true,
	57600: true, 76800: true, 115200: true, 230400: true,
}

// setSpeed sets the input and output speed of t to baud. On the BSDs the
// speed fields hold the rate itself.
func setSpeed(t *unix.Termios, baud int) error {
	if runtime.GOOS == "darwin" && !darwinSpeeds[baud] {
		return fmt.Errorf("%w: %d baud is not a standard macOS rate (rates above 230400 need IOSSIOSPEED, which is not supported)", ErrSpeed, baud)
	}
	setNum(&t.Ispeed, baud)
	setNum(&t.Ospeed, baud)
	return nil
}

// setNum stores v in a speed field, whose type differs between systems.
func setNum[T ~int32 | ~uint32 | ~uint64](p *T, v int) { *p = T(v) }

// flushInput discards what the device received and nobody read yet.
func flushInput(fd int) error {
	return unix.IoctlSetPointerInt(fd, unix.TIOCFLUSH, 1) // FREAD
}
