package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

// A read deadline that fires during a Read returns a timeout and leaves
// the conn usable: the data sent afterwards arrives intact.
func TestReadDeadlineSurvives(t *testing.T) {
	d, a := pair(t, New(nil), New(nil))
	defer d.Close()
	defer a.Close()
	a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := a.Read(make([]byte, 10)); !isTimeout(err) {
		t.Fatalf("Read past the deadline = %v, want a timeout net.Error", err)
	}
	a.SetReadDeadline(time.Time{})
	if _, err := d.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "after" {
		t.Fatalf("Read after resetting the deadline = %q, %v", buf, err)
	}
}

// A write deadline that fires while the peer does not read returns a
// timeout with the count of bytes taken; exactly those bytes arrive, and
// the conn keeps working.
func TestWriteDeadlineSurvives(t *testing.T) {
	d, a := pair(t, New(nil), New(nil))
	defer d.Close()
	defer a.Close()
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i % 251)
	}
	d.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := d.Write(big)
	if !isTimeout(err) {
		t.Fatalf("Write to a peer that does not read = %d, %v; want a timeout", n, err)
	}
	if n == 0 || n == len(big) {
		t.Fatalf("Write took %d of %d bytes; the test needs a partial write", n, len(big))
	}
	d.SetWriteDeadline(time.Time{})
	// The queue may be full: the tail goes in once the peer reads.
	werr := make(chan error, 1)
	go func() { _, err := d.Write([]byte("tail")); werr <- err }()
	got := make([]byte, n+4)
	if _, err := io.ReadFull(a, got); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("Write after resetting the deadline: %v", err)
	}
	for i := 0; i < n; i++ {
		if got[i] != big[i] {
			t.Fatalf("byte %d differs", i)
		}
	}
	if string(got[n:]) != "tail" {
		t.Fatalf("tail = %q", got[n:])
	}
}

// Close returns within the close timeout whatever the peer does.
func TestCloseUnresponsivePeer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pending bool // data queued that the peer never reads
	}{{"idle", false}, {"data-queued", true}} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := rawPair(t, New(&Options{CloseTimeout: 200 * time.Millisecond, KeepAlive: -1})) // never reads, never answers
			werr := make(chan error, 1)
			if tc.pending {
				go func() { _, err := c.Write(make([]byte, 64<<20)); werr <- err }()
			} else {
				werr <- nil
			}
			start := time.Now()
			closed := make(chan error, 1)
			go func() { closed <- c.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Close blocked for 3 s with a 200 ms close timeout")
			}
			t.Logf("Close took %v", time.Since(start))
			if err := <-werr; tc.pending && !errors.Is(err, net.ErrClosed) {
				t.Fatalf("pending Write = %v, want net.ErrClosed", err)
			}
			p.Close()
		})
	}
}

// Close sends a close frame with status 1000 and completes as soon as the
// peer answers it.
func TestCloseHandshake(t *testing.T) {
	p, c := rawPair(t, New(&Options{CloseTimeout: time.Minute, KeepAlive: -1}))
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := p.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.opcode != opClose || len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != 1000 {
		t.Fatalf("got frame op %#x %q, want a close frame with status 1000", f.opcode, f.payload)
	}
	if err := p.writeFrame(opClose, f.payload[:2]); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not finish after the peer answered the close frame (close timeout is 1 min)")
	}
	if _, err := p.readFrame(); err != io.EOF {
		t.Fatalf("after the handshake the server should close TCP; read %v", err)
	}
}

// The peer's normal close reads as io.EOF; Close answers a close frame the
// peer sent while we were not reading.
func TestPeerCloseIsEOF(t *testing.T) {
	p, c := rawPair(t, New(&Options{CloseTimeout: time.Minute, KeepAlive: -1}))
	defer c.Close()
	p.writeFrame(opBinary, []byte("last words"))
	p.writeFrame(opClose, []byte{0x03, 0xe8})
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := p.readFrame()
	if err != nil || f.opcode != opClose {
		t.Fatalf("peer got %#x, %v; want the close answer", f.opcode, err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last words" {
		t.Fatalf("ReadAll = %q, %v; want the data then EOF", got, err)
	}
}

// A close frame without a status (1005), as JavaScript's ws sends at the
// end of a stream, reads as io.EOF.
func TestPeerCloseWithoutStatusIsEOF(t *testing.T) {
	p, c := rawPair(t, New(&Options{KeepAlive: -1}))
	defer c.Close()
	p.writeFrame(opBinary, []byte("bye"))
	p.writeFrame(opClose, nil)
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("ReadAll = %q, %v; want the data then EOF", got, err)
	}
}

// No message is larger than MaxMessage, however large the Write.
func TestWritesSplit(t *testing.T) {
	tr := New(nil)
	ln := listenT(t, tr, "ws://127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	wc, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.CloseNow()
	wc.SetReadLimit(-1)
	c := <-accepted
	if c == nil {
		t.Fatal("no conn accepted")
	}
	defer c.Close()
	const total = 3*MaxMessage + 12345
	go c.Write(make([]byte, total))
	n, msgs := 0, 0
	for n < total {
		typ, b, err := wc.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != websocket.MessageBinary {
			t.Fatalf("message of type %v, want binary", typ)
		}
		if len(b) > MaxMessage {
			t.Fatalf("message of %d bytes, more than MaxMessage (%d)", len(b), MaxMessage)
		}
		n += len(b)
		msgs++
	}
	if n != total {
		t.Fatalf("received %d bytes, want %d", n, total)
	}
	t.Logf("%d bytes in %d messages", n, msgs)
}

// A text message closes the conn with status 1003 and ErrTextMessage.
func TestTextMessageRefused(t *testing.T) {
	p, c := rawPair(t, New(&Options{KeepAlive: -1}))
	defer c.Close()
	p.writeFrame(opText, []byte("hello"))
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, ErrTextMessage) {
		t.Fatalf("Read after a text message = %v, want ErrTextMessage", err)
	}
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := p.readFrame()
	if err != nil || f.opcode != opClose || binary.BigEndian.Uint16(f.payload) != 1003 {
		t.Fatalf("peer got %#x %q, %v; want close 1003", f.opcode, f.payload, err)
	}
	p.writeFrame(opClose, f.payload[:2])
}

// Keepalive: a silent peer gets pings and, when it answers none, the conn
// fails with ErrKeepAlive.
func TestKeepAliveDropsSilentPeer(t *testing.T) {
	p, c := rawPair(t, New(&Options{KeepAlive: 50 * time.Millisecond, CloseTimeout: 100 * time.Millisecond}))
	defer c.Close()
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := p.readFrame()
	if err != nil || f.opcode != opPing {
		t.Fatalf("silent peer got %#x, %v; want a ping", f.opcode, err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrKeepAlive) {
		t.Fatalf("Read = %v, want ErrKeepAlive", err)
	}
}

// survivalInterval is the keepalive interval of the tests in which a conn
// must survive: a pong must come back within it even on a loaded machine
// under the race detector, and the tests wait ten of them.
const survivalInterval = 150 * time.Millisecond

// Keepalive: a peer that answers pings keeps an idle conn alive.
func TestKeepAliveKeepsIdleConn(t *testing.T) {
	tr := New(&Options{KeepAlive: survivalInterval})
	d, a := pair(t, tr, tr)
	defer d.Close()
	defer a.Close()
	// Idle for many intervals: both ends ping, both answer.
	a.SetReadDeadline(time.Now().Add(10 * survivalInterval))
	if _, err := a.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("idle Read = %v, want only the read deadline to fire", err)
	}
	a.SetReadDeadline(time.Time{})
	go d.Write([]byte("x"))
	if _, err := io.ReadFull(a, make([]byte, 1)); err != nil {
		t.Fatalf("Read after idling: %v", err)
	}
}

// Keepalive: a peer whose application does not read is slow, not gone.
func TestKeepAliveSparesSlowReader(t *testing.T) {
	tr := New(&Options{KeepAlive: survivalInterval})
	d, a := pair(t, tr, tr)
	defer d.Close()
	defer a.Close()
	// d sends more than a's read-ahead buffer holds; a does not read for
	// many intervals.
	const n = 8 << 20
	werr := make(chan error, 1)
	go func() { _, err := d.Write(make([]byte, n)); werr <- err }()
	d.SetReadDeadline(time.Now().Add(10 * survivalInterval))
	if _, err := d.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("idle Read on the sender = %v, want only the read deadline to fire", err)
	}
	if _, err := io.ReadFull(a, make([]byte, n)); err != nil {
		t.Fatalf("slow reader lost its conn: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

// TestDialRefusesBadSection: port 0 is refused by Parse, before any
// Dial, and Dial refuses an endpoint that is not ws's own.
func TestDialRefusesBadSection(t *testing.T) {
	s, _ := msaddr.ParseSection("ws://127.0.0.1:0")
	tr := New(nil)
	if _, err := tr.Parse(s); !errors.Is(err, stack.ErrAddress) {
		t.Fatalf("Parse of port 0: %v, want stack.ErrAddress", err)
	}
	s, _ = msaddr.ParseSection("wss://127.0.0.1:1")
	wss, err := NewSecure(nil).Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Dial(context.Background(), wss); !errors.Is(err, stack.ErrAddress) {
		t.Fatalf("ws Dial of a wss endpoint: %v, want stack.ErrAddress", err)
	}
}
