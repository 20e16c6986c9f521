package serialport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// readSlice bounds how long one Read waits in the driver, so that a read
// deadline set during a Read and Close are noticed within that time.
const readSlice = 50 * time.Millisecond

// conn is a COM port driven by go.bug.st/serial, with deadlines emulated
// on top of its read timeout and output purge.
type conn struct {
	p    serial.Port
	addr *Addr

	rmu sync.Mutex // one Read at a time: the read timeout is per port
	wmu sync.Mutex // one Write at a time

	mu      sync.Mutex
	rdl     time.Time
	wdl     time.Time
	onClose func()

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

func openConn(path string, baud int) (*conn, error) {
	if baud == 0 {
		return nil, fmt.Errorf("%w: %s: Windows needs an explicit baud rate (0 is not supported there)", ErrSpeed, path)
	}
	// 8N1, no flow control; go.bug.st/serial raises DTR and RTS (as opening
	// a tty does on Unix).
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		var pe *serial.PortError
		if errors.As(err, &pe) {
			switch pe.Code() {
			case serial.PortBusy:
				return nil, fmt.Errorf("%w: %s: %v", ErrBusy, path, err)
			case serial.PortNotFound:
				return nil, &os.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
			case serial.InvalidSerialPort:
				return nil, fmt.Errorf("%w: %s: %v", ErrNotTerminal, path, err)
			case serial.InvalidSpeed:
				return nil, fmt.Errorf("%w: %s: %d baud: %v", ErrSpeed, path, baud, err)
			}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := p.ResetInputBuffer(); err != nil {
		p.Close()
		return nil, &os.PathError{Op: "purge input", Path: path, Err: err}
	}
	return &conn{p: p, addr: &Addr{Path: path, Baud: baud}}, nil
}

// missingDevice: on Windows a missing port is reported as fs.ErrNotExist.
func missingDevice(err error) bool { return false }

func (c *conn) setOnClose(f func()) {
	c.mu.Lock()
	c.onClose = f
	c.mu.Unlock()
}

func (c *conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: Name, Source: c.addr, Addr: c.addr, Err: err}
}

// Read reads from the port, waiting in slices of readSlice so that a
// deadline or Close is noticed.
func (c *conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(b) == 0 {
		return 0, nil
	}
	for {
		if c.closed.Load() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		c.mu.Lock()
		dl := c.rdl
		c.mu.Unlock()
		wait := readSlice
		if !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return 0, c.opErr("read", os.ErrDeadlineExceeded)
			}
			wait = min(wait, left)
		}
		if err := c.p.SetReadTimeout(wait); err != nil {
			return 0, c.readErr(err)
		}
		n, err := c.p.Read(b)
		if n > 0 || err != nil {
			return n, c.readErr(err)
		}
	}
}

func (c *conn) readErr(err error) error {
	if err == nil {
		return nil
	}
	if c.closed.Load() {
		return c.opErr("read", net.ErrClosed)
	}
	return c.opErr("read", err)
}

// Write writes b. A write deadline that passes while the Write is in
// progress purges the output, discarding what was not sent.
func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	c.mu.Lock()
	dl := c.wdl
	c.mu.Unlock()
	var expired atomic.Bool
	if !dl.IsZero() {
		left := time.Until(dl)
		if left <= 0 {
			return 0, c.opErr("write", os.ErrDeadlineExceeded)
		}
		t := time.AfterFunc(left, func() {
			expired.Store(true)
			c.p.ResetOutputBuffer()
		})
		defer t.Stop()
	}
	n, err := c.p.Write(b)
	switch {
	case c.closed.Load():
		return n, c.opErr("write", net.ErrClosed)
	case expired.Load() && n < len(b):
		return n, c.opErr("write", os.ErrDeadlineExceeded)
	case err != nil:
		return n, c.opErr("write", err)
	case n < len(b):
		return n, c.opErr("write", fmt.Errorf("short write (%d of %d bytes)", n, len(b)))
	}
	return n, nil
}

// Close closes the port, which ends a pending Read or Write.
func (c *conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.closed.Store(true)
		c.closeErr = c.p.Close()
		c.mu.Lock()
		f := c.onClose
		c.mu.Unlock()
		if f != nil {
			f()
		}
	})
	if !first {
		return c.opErr("close", net.ErrClosed)
	}
	if c.closeErr != nil {
		return c.opErr("close", c.closeErr)
	}
	return nil
}

// LocalAddr returns the device.
func (c *conn) LocalAddr() net.Addr { return c.addr }

// RemoteAddr returns the device too: a serial link has no other address.
func (c *conn) RemoteAddr() net.Addr { return c.addr }

// SetDeadline sets the read and write deadlines.
func (c *conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl, c.wdl = t, t
	c.mu.Unlock()
	return nil
}

// SetReadDeadline sets the read deadline; a pending Read notices it within
// readSlice.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the write deadline for Writes that start later.
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return nil
}
