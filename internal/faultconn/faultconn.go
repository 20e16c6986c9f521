// Package faultconn wraps a net.Conn to inject the faults a real network
// produces: a connection cut after a number of bytes, a stall, delays, and
// reads and writes split into small pieces. It never reorders, duplicates
// or alters bytes: what gets through is exactly a prefix of what was sent.
//
// It is a test helper; it is not for use outside this module's tests and
// commands.
package faultconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ErrCut is returned (wrapped) by Read and Write once the conn has been
// cut by a Faults limit.
var ErrCut = errors.New("faultconn: connection cut")

// Faults says which faults a Conn injects. The zero value injects none.
//
// Byte counts are totals over the life of the conn, per direction. A limit
// of zero means "no limit"; to cut a conn before its first byte, Close it.
type Faults struct {
	// CutReadAfter cuts the conn once this many bytes have been read: the
	// read that reaches the limit returns the bytes up to it, and the next
	// read fails with ErrCut. The underlying conn is closed at that point,
	// so the peer sees its writes fail or its reads end.
	CutReadAfter int64

	// CutWriteAfter cuts the conn once this many bytes have been written:
	// a write that crosses the limit writes the bytes up to it, closes the
	// underlying conn and returns that count with ErrCut.
	CutWriteAfter int64

	// Reset, with a cut, closes a TCP conn with SO_LINGER 0 so the peer
	// gets a reset (ECONNRESET) instead of an orderly end of stream.
	Reset bool

	// StallReadAfter makes reads block, once this many bytes have been
	// read, until the read deadline passes or the conn is closed; no more
	// data is delivered. The peer's writes are not affected (they fill the
	// socket buffers).
	StallReadAfter int64

	// StallWriteAfter makes writes block, once this many bytes have been
	// written, until the write deadline passes or the conn is closed. A
	// write that crosses the limit writes the bytes up to it first.
	StallWriteAfter int64

	// ReadChunk and WriteChunk, if positive, bound the bytes each
	// underlying Read and Write moves; 1 splits every transfer into single
	// bytes. A Write still writes all of its bytes (in several underlying
	// writes) unless it fails.
	ReadChunk, WriteChunk int

	// ReadDelay and WriteDelay are slept before every underlying Read and
	// Write (each chunk). Close and the deadlines interrupt them.
	ReadDelay, WriteDelay time.Duration
}

// Conn is a net.Conn that injects Faults into the conn it wraps. It is
// safe for concurrent use as a net.Conn is; concurrent Reads (or Writes)
// are serialised.
type Conn struct {
	net.Conn
	f Faults

	rmu   sync.Mutex // serialises Reads; guards nread
	nread int64
	wmu   sync.Mutex // serialises Writes; guards nwritten
	nwrit int64

	cut       atomic.Bool
	closeOnce sync.Once
	closed    chan struct{}

	dmu       sync.Mutex // guards the deadlines and their change channels
	rdeadline time.Time
	wdeadline time.Time
	rchanged  chan struct{}
	wchanged  chan struct{}
}

// New wraps c.
func New(c net.Conn, f Faults) *Conn {
	return &Conn{
		Conn:     c,
		f:        f,
		closed:   make(chan struct{}),
		rchanged: make(chan struct{}),
		wchanged: make(chan struct{}),
	}
}

// NetConn returns the wrapped conn.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// BytesRead returns how many bytes Read has returned so far.
func (c *Conn) BytesRead() int64 {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.nread
}

// BytesWritten returns how many bytes went to the wrapped conn so far.
func (c *Conn) BytesWritten() int64 {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.nwrit
}

// Read reads from the wrapped conn, applying the read faults.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.cut.Load() {
		return 0, c.opErr("read", fmt.Errorf("cut after %d bytes read: %w", c.nread, ErrCut))
	}
	if len(p) == 0 {
		return c.Conn.Read(p)
	}
	if c.f.StallReadAfter > 0 && c.nread >= c.f.StallReadAfter {
		return 0, c.stall("read")
	}
	if c.f.CutReadAfter > 0 {
		left := c.f.CutReadAfter - c.nread
		if left <= 0 {
			c.cutNow()
			return 0, c.opErr("read", fmt.Errorf("cut after %d bytes read: %w", c.nread, ErrCut))
		}
		p = p[:min(int64(len(p)), left)]
	}
	if c.f.StallReadAfter > 0 {
		p = p[:min(int64(len(p)), c.f.StallReadAfter-c.nread)]
	}
	if c.f.ReadChunk > 0 && len(p) > c.f.ReadChunk {
		p = p[:c.f.ReadChunk]
	}
	if err := c.delay("read", c.f.ReadDelay); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	c.nread += int64(n)
	if err == nil && c.f.CutReadAfter > 0 && c.nread >= c.f.CutReadAfter {
		c.cutNow() // the next Read reports the cut
	}
	return n, err
}

// Write writes p to the wrapped conn, applying the write faults. The count
// it returns is exactly the number of bytes handed to the wrapped conn.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	total := 0
	for {
		if c.cut.Load() {
			return total, c.opErr("write", fmt.Errorf("cut after %d bytes written: %w", c.nwrit, ErrCut))
		}
		if len(p) == 0 {
			if total == 0 {
				return c.Conn.Write(p)
			}
			return total, nil
		}
		if c.f.StallWriteAfter > 0 && c.nwrit >= c.f.StallWriteAfter {
			return total, c.stall("write")
		}
		chunk := p
		if c.f.CutWriteAfter > 0 {
			left := c.f.CutWriteAfter - c.nwrit
			if left <= 0 {
				c.cutNow()
				continue
			}
			chunk = chunk[:min(int64(len(chunk)), left)]
		}
		if c.f.StallWriteAfter > 0 {
			chunk = chunk[:min(int64(len(chunk)), c.f.StallWriteAfter-c.nwrit)]
		}
		if c.f.WriteChunk > 0 && len(chunk) > c.f.WriteChunk {
			chunk = chunk[:c.f.WriteChunk]
		}
		if err := c.delay("write", c.f.WriteDelay); err != nil {
			return total, err
		}
		n, err := c.Conn.Write(chunk)
		c.nwrit += int64(n)
		total += n
		p = p[n:]
		if err != nil {
			return total, err
		}
	}
}

// Close closes the wrapped conn and ends any stall or delay.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// SetDeadline sets both deadlines on the wrapped conn and on the stalls.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setDeadline(true, true, t)
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline on the wrapped conn and on read
// stalls.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.setDeadline(true, false, t)
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline on the wrapped conn and on
// write stalls.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.setDeadline(false, true, t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *Conn) setDeadline(r, w bool, t time.Time) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if r {
		c.rdeadline = t
		close(c.rchanged)
		c.rchanged = make(chan struct{})
	}
	if w {
		c.wdeadline = t
		close(c.wchanged)
		c.wchanged = make(chan struct{})
	}
}

func (c *Conn) deadline(op string) (time.Time, <-chan struct{}) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if op == "read" {
		return c.rdeadline, c.rchanged
	}
	return c.wdeadline, c.wchanged
}

// wait blocks for d, or until the op's deadline passes or the conn is
// closed; it returns the error the op should report then. d < 0 waits
// without a bound of its own.
func (c *Conn) wait(op string, d time.Duration) error {
	var end <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		end = t.C
	}
	for {
		dl, changed := c.deadline(op)
		var dlC <-chan time.Time
		var dlTimer *time.Timer
		if !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return c.opErr(op, os.ErrDeadlineExceeded)
			}
			dlTimer = time.NewTimer(left)
			dlC = dlTimer.C
		}
		select {
		case <-end:
			if dlTimer != nil {
				dlTimer.Stop()
			}
			return nil
		case <-c.closed:
			if dlTimer != nil {
				dlTimer.Stop()
			}
			return c.opErr(op, net.ErrClosed)
		case <-dlC:
			return c.opErr(op, os.ErrDeadlineExceeded)
		case <-changed:
			if dlTimer != nil {
				dlTimer.Stop()
			}
		}
	}
}

func (c *Conn) delay(op string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return c.wait(op, d)
}

func (c *Conn) stall(op string) error {
	return c.wait(op, -1)
}

func (c *Conn) cutNow() {
	if c.cut.Swap(true) {
		return
	}
	if c.f.Reset {
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	c.Close()
}

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "faultconn", Source: c.Conn.LocalAddr(), Addr: c.Conn.RemoteAddr(), Err: err}
}
