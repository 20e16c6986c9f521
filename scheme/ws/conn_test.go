package ws

import (
	"net"
	"testing"

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
				tr := New(nil)
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
