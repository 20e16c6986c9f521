package ws

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

func TestConnNettest(t *testing.T) {
	for _, tc := range []struct {
		name string
		// server dials: the roles are swapped so both ends get tested
		// as the first conn of the pipe.
		swap bool
	}{{"dialer-first", false}, {"acceptor-first", true}} {
		t.Run(tc.name, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				// nettest's BasicIO reads all that was written before a
				// Close, which holds only while Close flushes the queue
				// and runs the close handshake within the close timeout.
				// The default second is wall-clock time; on a machine
				// loaded 20-40 over 2 cores under -race it ran out, and
				// the reader got "unexpected EOF". A minute costs nothing
				// here: Close returns when the handshake is done.
				tr := New(&Options{CloseTimeout: time.Minute})
				ln := listenT(t, tr, "ws://127.0.0.1:0")
				d, a := pairOn(t, tr, ln, "/")
				stop = func() { d.Close(); a.Close(); ln.Close() }
				if tc.swap {
					return a, d, stop, nil
				}
				return d, a, stop, nil
			})
		})
	}
}
