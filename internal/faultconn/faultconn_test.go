package faultconn_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/go-multiserver/multiserver/internal/faultconn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tcpPair returns both ends of a loopback TCP conn.
func tcpPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		a.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() { a.Close(); r.c.Close() })
	return a, r.c
}

// countConn counts the underlying Read and Write calls.
type countConn struct {
	net.Conn
	mu            sync.Mutex
	reads, writes int
	maxW          int
}

func (c *countConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Conn.Read(p)
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.maxW = max(c.maxW, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

var payload = bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB

func TestCutWrite(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cut   int64
		chunk int
		reset bool
	}{
		{"mid-write", 100, 0, false},
		{"mid-write-1-byte-chunks", 100, 1, false},
		{"first-byte", 1, 0, false},
		{"last-byte", int64(len(payload)) - 1, 0, false},
		{"reset", 100, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tcpPair(t)
			fc := faultconn.New(a, faultconn.Faults{CutWriteAfter: tt.cut, WriteChunk: tt.chunk, Reset: tt.reset})
			n, err := fc.Write(payload)
			if int64(n) != tt.cut || !errors.Is(err, faultconn.ErrCut) {
				t.Fatalf("Write = %d, %v; want %d, ErrCut", n, err, tt.cut)
			}
			if _, err := fc.Write([]byte("x")); !errors.Is(err, faultconn.ErrCut) {
				t.Errorf("Write after cut: %v, want ErrCut", err)
			}
			b.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(b)
			if !bytes.Equal(got, payload[:tt.cut]) && !tt.reset {
				t.Errorf("peer got %d bytes, want the %d-byte prefix", len(got), tt.cut)
			}
			if !bytes.HasPrefix(payload, got) {
				t.Errorf("peer got bytes that are not a prefix of what was sent")
			}
			if tt.reset {
				if err == nil {
					t.Errorf("peer read after reset: nil error, want a reset")
				}
			} else if err != nil {
				t.Errorf("peer read: %v, want EOF", err)
			}
		})
	}
}

func TestCutRead(t *testing.T) {
	a, b := tcpPair(t)
	fc := faultconn.New(a, faultconn.Faults{CutReadAfter: 10})
	if _, err := b.Write(payload); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(payload))
	n, err := io.ReadFull(fc, buf)
	if n != 10 || !errors.Is(err, faultconn.ErrCut) {
		t.Fatalf("ReadFull = %d, %v; want 10, ErrCut", n, err)
	}
	if !bytes.Equal(buf[:n], payload[:10]) {
		t.Error("read bytes differ from the sent prefix")
	}
	if fc.BytesRead() != 10 {
		t.Errorf("BytesRead = %d", fc.BytesRead())
	}
	// The peer learns of the cut: its reads end.
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := b.Read(make([]byte, 1)); err == nil {
		t.Error("peer read after cut succeeded")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("peer read timed out: the cut did not close the conn")
	}
}

func TestChunks(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cc := &countConn{Conn: a}
	fc := faultconn.New(cc, faultconn.Faults{ReadChunk: 1, WriteChunk: 3})
	go func() {
		b.Write(payload[:10])
		io.Copy(io.Discard, b)
	}()
	buf := make([]byte, 10)
	n, err := fc.Read(buf)
	if n != 1 || err != nil {
		t.Fatalf("Read = %d, %v; want 1 byte", n, err)
	}
	if _, err := io.ReadFull(fc, buf[1:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, payload[:10]) {
		t.Error("chunked reads changed the bytes")
	}
	n, err = fc.Write(payload[:10])
	if n != 10 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.writes != 4 || cc.maxW != 3 {
		t.Errorf("10 bytes in chunks of 3 took %d writes (max %d bytes), want 4 (max 3)", cc.writes, cc.maxW)
	}
	if cc.reads != 10 {
		t.Errorf("10 bytes in chunks of 1 took %d reads, want 10", cc.reads)
	}
}

func TestStall(t *testing.T) {
	t.Run("read-deadline", func(t *testing.T) {
		a, b := tcpPair(t)
		fc := faultconn.New(a, faultconn.Faults{StallReadAfter: 5})
		b.Write(payload[:20])
		buf := make([]byte, 20)
		n, err := io.ReadFull(fc, buf[:5])
		if n != 5 || err != nil {
			t.Fatalf("read before stall: %d, %v", n, err)
		}
		fc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err = fc.Read(buf)
		var ne net.Error
		if n != 0 || !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("stalled read = %d, %v; want a timeout", n, err)
		}
	})
	t.Run("read-close", func(t *testing.T) {
		a, b := tcpPair(t)
		fc := faultconn.New(a, faultconn.Faults{StallReadAfter: 1})
		b.Write(payload[:2])
		if n, err := fc.Read(make([]byte, 2)); n != 1 || err != nil {
			t.Fatalf("read up to the stall = %d, %v; want 1 byte", n, err)
		}
		errc := make(chan error, 1)
		go func() { _, err := fc.Read(make([]byte, 1)); errc <- err }()
		fc.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("stalled read unblocked by Close: %v, want net.ErrClosed", err)
		}
	})
	t.Run("write-deadline-extended", func(t *testing.T) {
		a, b := tcpPair(t)
		go io.Copy(io.Discard, b)
		fc := faultconn.New(a, faultconn.Faults{StallWriteAfter: 7})
		fc.SetWriteDeadline(time.Now().Add(time.Hour))
		errc := make(chan error, 1)
		var n int
		go func() {
			var err error
			n, err = fc.Write(payload)
			errc <- err
		}()
		fc.SetWriteDeadline(time.Now().Add(10 * time.Millisecond)) // a changed deadline applies to a stalled write
		err := <-errc
		if n != 7 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("stalled write = %d, %v; want 7, deadline exceeded", n, err)
		}
	})
}

func TestDelay(t *testing.T) {
	a, b := tcpPair(t)
	go io.Copy(b, b)
	const d = 20 * time.Millisecond
	fc := faultconn.New(a, faultconn.Faults{WriteDelay: d, ReadDelay: d})
	start := time.Now()
	if _, err := fc.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(fc, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 2*d {
		t.Errorf("write+read took %v, want at least %v of injected delay", el, 2*d)
	}
	// Close interrupts a delay.
	slow := faultconn.New(a, faultconn.Faults{ReadDelay: time.Hour})
	errc := make(chan error, 1)
	go func() { _, err := slow.Read(make([]byte, 1)); errc <- err }()
	slow.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Errorf("delayed read after Close: %v, want net.ErrClosed", err)
	}
}

// TestNetConn checks that a Conn that only splits transfers is a correct
// net.Conn.
func TestNetConn(t *testing.T) {
	for _, f := range []faultconn.Faults{{}, {ReadChunk: 7, WriteChunk: 5}} {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, nil, nil, err
			}
			defer ln.Close()
			ch := make(chan net.Conn, 1)
			go func() {
				c, _ := ln.Accept()
				ch <- c
			}()
			a, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return nil, nil, nil, err
			}
			b := <-ch
			if b == nil {
				a.Close()
				return nil, nil, nil, errors.New("accept failed")
			}
			c1, c2 = faultconn.New(a, f), faultconn.New(b, f)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	}
}
