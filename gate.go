package multiserver

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// A gatedConn is a conn that holds a handshake slot (and possibly its
// source's count) before its stack's Accept returned it: a ws conn in its
// HTTP phase (stack.AcceptGate), or a shared port's conn while its first
// bytes are read and its stack takes it. The listener closes it when the
// slot is shed or the listener closes; closing it before the handshake
// claims the slot gives the slot back.
type gatedConn struct {
	net.Conn
	l    *Listener
	sl   *slot
	stop func() bool // stops closing the conn when sl.ctx ends

	mu      sync.Mutex
	release func() // the source's count; nil if not counted yet
	state   gateState
}

type gateState int

const (
	gateHeld    gateState = iota // the slot is the conn's, not yet claimed
	gateClaimed                  // a handshake owns the slot
	gateClosed                   // closed before a handshake claimed it
	gateLeft                     // not a handshake (plain HTTP): slot given back
)

// gate takes a slot for c, which must not hold one, and returns c
// wrapped to hold it. release is its source's count or nil; where names
// the stack or port, for errors. It reports false if the listener closed
// meanwhile; c is then closed.
func (l *Listener) gate(c net.Conn, release func(), where string) (*gatedConn, bool) {
	sl := newSlot(l.ctx, l.stepTO, l.slots)
	if !l.slots.acquire(sl, l.closed) {
		sl.end()
		if release != nil {
			release()
		}
		c.Close()
		return nil, false
	}
	g := &gatedConn{Conn: c, l: l, sl: sl, release: release}
	remote := c.RemoteAddr()
	g.stop = context.AfterFunc(sl.ctx, func() { // shed, or the listener closed
		g.mu.Lock()
		held := g.state == gateHeld
		g.mu.Unlock()
		c.Close()
		// Once claimed, the handshake reports its own end.
		if held && l.lc.OnError != nil && context.Cause(sl.ctx) == ErrShed && !l.isClosed() {
			l.report(fmt.Errorf("%w: %s: %v gone longest without progress before its handshake", ErrShed, where, remote))
		}
	})
	return g, true
}

// Close closes the conn and, if no handshake claimed its slot, gives the
// slot and the source's count back.
func (g *gatedConn) Close() error {
	err := g.Conn.Close()
	g.giveBack(gateClosed)
	return err
}

// giveBack moves a conn whose slot no handshake claimed to state to, and
// gives the slot and the source's count back.
func (g *gatedConn) giveBack(to gateState) {
	g.mu.Lock()
	held := g.state == gateHeld
	if held {
		g.state = to
	}
	release := g.release
	g.mu.Unlock()
	if held {
		g.stop()
		g.l.slots.release(g.sl)
		g.sl.end()
		if release != nil {
			release()
		}
	}
}

// count takes a count of the source of remote for the conn if it has
// none yet, and reports false if the source has none left.
func (g *gatedConn) count(remote net.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil || g.state != gateHeld {
		return true
	}
	release, ok := g.l.perIP.acquire(remote)
	if ok {
		g.release = release
	}
	return ok
}

// claim hands the slot and the source's count to the handshake. It
// reports false if the conn was closed first.
func (g *gatedConn) claim() (sl *slot, release func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != gateHeld {
		return nil, nil, false
	}
	g.state = gateClaimed
	release = g.release
	if release == nil {
		release = func() {}
	}
	return g.sl, release, true
}

// detach stops closing the conn when the slot ends, once its handshake
// finished; it reports false if the conn was closed for the slot already.
func (g *gatedConn) detach() bool { return g.stop() }

// NetConn returns the conn under g.
func (g *gatedConn) NetConn() net.Conn { return g.Conn }

// CloseWrite half-closes the TCP conn, as shs's CloseWrite expects of its
// transport.
func (g *gatedConn) CloseWrite() error {
	if cw, ok := g.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return g.Conn.Close()
}

// gatedOf returns the gatedConn under c, following NetConn methods, or
// nil.
func gatedOf(c net.Conn) *gatedConn {
	for range 8 { // a stack of wrappers is short; never loop forever
		switch x := c.(type) {
		case *gatedConn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// acceptGate is the stack.AcceptGate the listener passes to stack s's
// transport: a conn in the transport's own phase before Accept (the ws
// HTTP phase) holds a handshake slot and its source's count from its
// accept, so those conns are bounded and shed as handshakes are. A conn
// that holds a slot already (a shared port's, from its peek) keeps it.
func (l *Listener) acceptGate(s *listenStack) func(net.Conn, net.Addr) (net.Conn, error) {
	return func(c net.Conn, source net.Addr) (net.Conn, error) {
		if g := gatedOf(c); g != nil {
			if source != nil && !g.count(source) {
				c.Close()
				err := l.overLimit(s, source)
				l.traceAccept(s, source, err)
				l.report(err)
				return nil, err
			}
			return c, nil
		}
		var release func()
		if source != nil {
			r, ok := l.perIP.acquire(source)
			if !ok {
				c.Close()
				err := l.overLimit(s, source)
				l.traceAccept(s, source, err)
				l.report(err)
				return nil, err
			}
			release = r
		}
		g, ok := l.gate(c, release, s.name)
		if !ok {
			return nil, fmt.Errorf("multiserver: listener closed: %w", net.ErrClosed)
		}
		return g, nil
	}
}

func (l *Listener) overLimit(s *listenStack, remote net.Addr) error {
	return fmt.Errorf("%w: %s: %v closed unhandled (MaxHandshakesPerIP %d)", ErrOverLimit, s.name, remote, l.lc.MaxHandshakesPerIP)
}

// ServerTurn marks the conn as waiting for the server, not its peer: it
// is not shed until its handshake's next step (stack.ServerTurn).
func (g *gatedConn) ServerTurn() { g.sl.serverTurn() }

// PeerTurn ends a ServerTurn without a handshake (stack.PeerTurn).
func (g *gatedConn) PeerTurn() { g.sl.resume() }

// LeaveGate gives the slot and the source's count back for a conn that
// turned out not to be a handshake (stack.LeaveGate).
func (g *gatedConn) LeaveGate() { g.giveBack(gateLeft) }

// left reports whether the conn left the gate (LeaveGate): a later
// upgrade on it is counted as a conn of its own.
func (g *gatedConn) left() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state == gateLeft
}
