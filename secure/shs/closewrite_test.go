package shs_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/internal/ssbpeer"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// peerInactivity is the test peer's inactivity timer. It only ends a test
// that fails: a client that half-closes is answered long before.
const peerInactivity = 30 * time.Second

// TestCloseWriteHalfClosesTransport talks to a peer that, like ssb-server,
// keeps a conn after the client's goodbye until it sees FIN, then sends its
// last packet and closes without a goodbye. CloseWrite must send FIN with
// the goodbye, and the end must read as ErrPeerClosed, not as a stream cut
// inside a packet.
func TestCloseWriteHalfClosesTransport(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			if network == "unix" && runtime.GOOS == "windows" {
				t.Skip("no unix sockets with half-close here")
			}
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "s")
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			p := ssbpeer.Listen(ln, serverConfig(), peerInactivity)
			defer p.Close()
			raw, err := net.Dial(network, p.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c := shs.Client(raw, clientConfig())
			defer c.Close()
			if _, err := c.Write([]byte("whoami")); err != nil {
				t.Fatal(err)
			}
			// Read the answer first, so the end is not a race between
			// CloseWrite and the answer.
			got := make([]byte, 6)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(c)
			if !bytes.Equal(rest, ssbpeer.Last) {
				t.Errorf("after CloseWrite read %x, want the peer's last packet %x", rest, ssbpeer.Last)
			}
			if !errors.Is(err, shs.ErrPeerClosed) || !errors.Is(err, shs.ErrNoGoodbye) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("end of stream: %v; want ErrPeerClosed, ErrNoGoodbye and io.ErrUnexpectedEOF", err)
			}
			end := <-p.Ends()
			if !end.Goodbye || !end.SawFIN || end.Err != nil || end.Received != 6 {
				t.Errorf("peer saw %+v; want the goodbye, then FIN, 6 bytes and no error", end)
			}
		})
	}
}

// TestNoGoodbyeBeforeOursIsNotPeerClosed: a peer that hangs up before this
// side has said goodbye (or inside a packet) truncated the stream; only a
// hang-up after ours, at a packet boundary, is ErrPeerClosed.
func TestNoGoodbyeBeforeOursIsNotPeerClosed(t *testing.T) {
	t.Run("before ours", func(t *testing.T) {
		c1, c2 := tcpPair(t)
		cc, sc := handshakePair(t, c1, c2, clientConfig(), serverConfig())
		defer cc.Close()
		defer sc.Close()
		sc.Write([]byte("partial"))
		sc.NetConn().Close()
		got, err := io.ReadAll(cc)
		if string(got) != "partial" || !errors.Is(err, shs.ErrNoGoodbye) || errors.Is(err, shs.ErrPeerClosed) {
			t.Fatalf("ReadAll = %q, %v; want partial, ErrNoGoodbye without ErrPeerClosed", got, err)
		}
	})
	t.Run("inside a packet after ours", func(t *testing.T) {
		c1, c2 := tcpPair(t)
		cc, sc := handshakePair(t, c1, c2, clientConfig(), serverConfig())
		defer cc.Close()
		defer sc.Close()
		if err := cc.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("server Read after the client's CloseWrite: %v, want io.EOF", err)
		}
		// Half a header: the peer's conn dies in the middle of a packet.
		sc.NetConn().Write(make([]byte, 10))
		sc.NetConn().Close()
		_, err := io.ReadAll(cc)
		if !errors.Is(err, shs.ErrNoGoodbye) || errors.Is(err, shs.ErrPeerClosed) {
			t.Fatalf("ReadAll: %v; want ErrNoGoodbye without ErrPeerClosed", err)
		}
	})
}
