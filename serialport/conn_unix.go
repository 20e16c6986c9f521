//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package serialport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// conn is a serial device opened non-blocking and handed to the runtime
// poller.
type conn struct {
	f    *os.File
	addr *Addr

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	onClose func()
}

// openConn opens and configures the device at path; see the package
// documentation for what is done to it.
func openConn(path string, baud int) (*conn, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		if err == unix.EBUSY {
			// Another process set TIOCEXCL on the device.
			return nil, fmt.Errorf("%w: open %s: %v", ErrBusy, path, err)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := setup(fd, path, baud); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	if f == nil {
		unix.Close(fd)
		return nil, fmt.Errorf("serial: %s: bad file descriptor %d", path, fd)
	}
	return &conn{f: f, addr: &Addr{Path: path, Baud: baud}}, nil
}

// setup checks that fd is a terminal, locks it, puts it in raw mode at the
// requested speed and flushes its input.
func setup(fd int, path string, baud int) error {
	t, err := unix.IoctlGetTermios(fd, getTermiosReq)
	if err != nil {
		if err == unix.ENOTTY || err == unix.EINVAL {
			return fmt.Errorf("%w: %s", ErrNotTerminal, path)
		}
		return &os.PathError{Op: "tcgetattr", Path: path, Err: err}
	}
	switch err := flock(fd); {
	case err == nil:
	case err == unix.EWOULDBLOCK:
		return fmt.Errorf("%w: %s is locked by another open file", ErrBusy, path)
	case err == unix.EOPNOTSUPP || err == unix.ENOTSUP || err == unix.ENOLCK:
		// A device file system without advisory locks: TIOCEXCL alone
		// keeps other users out.
	default:
		return &os.PathError{Op: "flock", Path: path, Err: err}
	}
	// TIOCEXCL makes further opens fail with EBUSY (except for root, which
	// the flock above stops if it plays by the same rules).
	if err := unix.IoctlSetInt(fd, unix.TIOCEXCL, 0); err != nil {
		return &os.PathError{Op: "ioctl TIOCEXCL", Path: path, Err: err}
	}
	makeRaw(t)
	if baud > 0 {
		t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS
		t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
		if err := setSpeed(t, baud); err != nil {
			return fmt.Errorf("serial: %s: %w", path, err)
		}
	}
	if err := unix.IoctlSetTermios(fd, setTermiosReq, t); err != nil {
		if baud > 0 && err == unix.EINVAL {
			return fmt.Errorf("%w: %s: the device refused %d baud (%v)", ErrSpeed, path, baud, err)
		}
		if baud > 0 {
			return &os.PathError{Op: fmt.Sprintf("tcsetattr (raw, %d baud)", baud), Path: path, Err: err}
		}
		return &os.PathError{Op: "tcsetattr (raw)", Path: path, Err: err}
	}
	if err := flushInput(fd); err != nil {
		return &os.PathError{Op: "tcflush", Path: path, Err: err}
	}
	return nil
}

func flock(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}

// makeRaw is cfmakeraw, plus no software flow control: the line carries
// binary data, so no byte may be interpreted.
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL |
		unix.IXON | unix.IXOFF | unix.IXANY | unix.IMAXBEL
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ECHOE | unix.ECHOK | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}

// missingDevice reports errors that mean the device node exists but the
// device behind it is gone or not ready.
func missingDevice(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO)
}

func (c *conn) setOnClose(f func()) {
	c.mu.Lock()
	c.onClose = f
	c.mu.Unlock()
}

// opErr converts an error of the os.File into what net.Conn users expect:
// io.EOF as is, a closed file as net.ErrClosed, and the rest (timeouts
// included) wrapped in a *net.OpError, which implements net.Error.
func (c *conn) opErr(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, os.ErrClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: Name, Source: c.addr, Addr: c.addr, Err: err}
}

// Read reads from the device. A hang-up reads as io.EOF.
func (c *conn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	if err != nil && errors.Is(err, syscall.EIO) {
		// Some ttys report a hang-up as EIO rather than end of file.
		err = io.EOF
	}
	return n, c.opErr("read", err)
}

// Write writes all of b unless an error (a deadline, Close) stops it.
func (c *conn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	return n, c.opErr("write", err)
}

// Close releases the device (its lock and exclusive mode) and interrupts
// pending Reads and Writes.
func (c *conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		// Let other users open the device again once we are gone; the
		// flock goes with the file.
		if rc, err := c.f.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.IoctlSetInt(int(fd), unix.TIOCNXCL, 0) })
		}
		c.closeErr = c.f.Close()
		c.mu.Lock()
		f := c.onClose
		c.mu.Unlock()
		if f != nil {
			f()
		}
	})
	if !first {
		return c.opErr("close", os.ErrClosed)
	}
	return c.opErr("close", c.closeErr)
}

// LocalAddr returns the device.
func (c *conn) LocalAddr() net.Addr { return c.addr }

// RemoteAddr returns the device too: a serial link has no other address.
func (c *conn) RemoteAddr() net.Addr { return c.addr }

// SetDeadline sets the read and write deadlines.
func (c *conn) SetDeadline(t time.Time) error { return c.opErr("set", c.f.SetDeadline(t)) }

// SetReadDeadline sets the read deadline.
func (c *conn) SetReadDeadline(t time.Time) error { return c.opErr("set", c.f.SetReadDeadline(t)) }

// SetWriteDeadline sets the write deadline.
func (c *conn) SetWriteDeadline(t time.Time) error {
	return c.opErr("set", c.f.SetWriteDeadline(t))
}

// SyscallConn gives access to the file descriptor, for ioctls such as
// modem control lines. It does not put the file in blocking mode, unlike
// os.File.Fd.
func (c *conn) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }
