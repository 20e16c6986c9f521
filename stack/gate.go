package stack

import (
	"context"
	"net"
)

// An AcceptGate counts, against the handshake limits of the listener that
// made it, the conns a transport holds before its Listener returns them:
// the HTTP phase of a WebSocket conn, from its TCP accept to the upgrade.
// The multiserver listener passes one to Transport.Listen in ctx
// (WithAcceptGate). A transport with such a phase calls it for each conn
// it accepts from its socket, before reading from it:
//
//   - c is the accepted conn; source is the address to count against a
//     per-source limit, normally c.RemoteAddr(), or nil if the conn's
//     real source is known only later (a proxy's X-Forwarded-For); the
//     listener then counts the RemoteAddr of the conn Accept returns.
//   - On success the transport uses the returned conn in place of c for
//     everything (reading, writing, closing), and the conn its Listener's
//     Accept returns for it is that conn or wraps it, reachable through
//     NetConn methods (as crypto/tls's Conn.NetConn). The gate closes it
//     when the listener sheds it (its slots are full and it has gone
//     longest without progress) or closes; closing it before Accept
//     returns it gives its slot back.
//   - On an error c is closed already: the transport goes on accepting,
//     unless the error wraps net.ErrClosed (the listener is closed).
//
// The gate may block while every slot of the listener holds a finished
// handshake waiting for Accept: new clients then wait in the kernel's
// accept backlog, as on a transport without a gate. Without a gate (a
// transport used on its own) nothing changes.
type AcceptGate func(c net.Conn, source net.Addr) (net.Conn, error)

type gateKey struct{}

// WithAcceptGate returns a copy of ctx carrying g, for Transport.Listen
// and SharedTransport.ListenOn.
func WithAcceptGate(ctx context.Context, g AcceptGate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// AcceptGateFrom returns the gate in ctx, or nil.
func AcceptGateFrom(ctx context.Context) AcceptGate {
	g, _ := ctx.Value(gateKey{}).(AcceptGate)
	return g
}

// ServerTurn tells the gate that admitted c (or a conn under c, found
// through NetConn methods) that the peer has done its part of the phase
// before Accept and the conn now waits for the server: for ws, a
// request's headers arrived and the upgrade, the hand-off to Accept and
// the start of the handshake are the server's to do. While it waits so,
// the listener does not shed it for newcomers, since the time is not the
// peer's to answer for; its handshake's next step (HandshakeProgress) or
// the step timeout ends the wait. It does nothing for a conn no gate
// admitted.
func ServerTurn(c net.Conn) {
	if g, ok := gated[interface{ ServerTurn() }](c); ok {
		g.ServerTurn()
	}
}

// PeerTurn tells the gate that admitted c (or a conn under c) that c
// waits for its peer again after a ServerTurn: the server refused the
// request (a 403 or 503 to an upgrade), and the conn, kept alive, may send
// another. It is shed again by its progress, counted from now. It does
// nothing for a conn no gate admitted.
func PeerTurn(c net.Conn) {
	if g, ok := gated[interface{ PeerTurn() }](c); ok {
		g.PeerTurn()
	}
}

// LeaveGate tells the gate that admitted c (or a conn under c) that c is
// not on its way to a handshake, as a plain HTTP request on a ws port
// served by the transport's own handler: its slot and its source's count
// are given back, and the listener no longer sheds or times it out. A
// later request on c that is on its way (an upgrade) is counted anew when
// Accept returns it. It does nothing for a conn no gate admitted.
func LeaveGate(c net.Conn) {
	if g, ok := gated[interface{ LeaveGate() }](c); ok {
		g.LeaveGate()
	}
}

// gated returns the first conn of type T at or under c, following NetConn
// methods.
func gated[T any](c net.Conn) (T, bool) {
	for range 8 { // a stack of wrappers is short; never loop forever
		if g, ok := c.(T); ok {
			return g, true
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	var zero T
	return zero, false
}
