package shs

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// memConn is an in-memory net.Conn for box-stream tests: reads come from
// in (at most chunk bytes per call if chunk > 0, with a timeout error
// before every chunk if stall is set), writes go to out (at most budget
// bytes in total if budget >= 0, then a timeout; writeErr fails every
// write). Not safe for concurrent use.
type memConn struct {
	in       []byte
	chunk    int
	stall    bool
	stalled  bool
	out      bytes.Buffer
	budget   int
	writeErr error
	closed   bool
}

func newMemConn(in []byte) *memConn { return &memConn{in: in, budget: -1} }

var errMemClosed = errors.New("memconn closed")

func (m *memConn) Read(p []byte) (int, error) {
	if m.closed {
		return 0, errMemClosed
	}
	if len(m.in) == 0 {
		return 0, io.EOF
	}
	if m.stall && !m.stalled {
		m.stalled = true
		return 0, os.ErrDeadlineExceeded
	}
	m.stalled = false
	n := len(p)
	if m.chunk > 0 && n > m.chunk {
		n = m.chunk
	}
	n = copy(p[:n], m.in)
	m.in = m.in[n:]
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error) {
	if m.closed {
		return 0, errMemClosed
	}
	if m.writeErr != nil {
		return 0, m.writeErr
	}
	if m.budget >= 0 && len(p) > m.budget {
		n := m.budget
		m.out.Write(p[:n])
		m.budget = 0
		return n, os.ErrDeadlineExceeded
	}
	if m.budget >= 0 {
		m.budget -= len(p)
	}
	return m.out.Write(p)
}

func (m *memConn) Close() error                     { m.closed = true; return nil }
func (m *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }
