package multiserver

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Conn is a connection made by Dial or returned by a Listener's Accept: the
// top of a stack (for example an shs conn over TCP) whose LocalAddr and
// RemoteAddr are multiserver addresses.
//
// Like tls.Conn it keeps the conn it wraps unexported: NetConn gives it
// out.
type Conn struct {
	conn   net.Conn // the top of the stack, maybe traced; see NetConn
	local  *Addr
	remote *Addr
	stack  string
	dialed bool                    // made by a Dialer
	set    atomic.Pointer[ConnSet] // the set that keeps this conn, if any
}

var _ net.Conn = (*Conn)(nil)

// NetConn returns the conn at the top of the stack (for shs, the
// *shs.Conn), as tls.Conn.NetConn does.
func (c *Conn) NetConn() net.Conn {
	if t, ok := c.conn.(*tracedConn); ok {
		return t.Conn
	}
	return c.conn
}

// Read reads from the top of the stack.
func (c *Conn) Read(p []byte) (int, error) { return c.conn.Read(p) }

// Write writes to the top of the stack.
func (c *Conn) Write(p []byte) (int, error) { return c.conn.Write(p) }

// SetDeadline sets the read and write deadlines of the top of the stack.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the top of the stack.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the top of the stack.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// LocalAddr returns this end's address, such as
// net:127.0.0.1:8008~shs:<own key>.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address. On the dialing side it is the
// address that was dialed (host names are kept); on the accepting side it
// is the peer's transport address and, after shs, its key:
// net:192.0.2.7:50122~shs:<client key>.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// Close closes the stack (for shs, sending the goodbye first) and, if a
// ConnSet keeps the conn, removes it from the set, so that the next conn
// to the same peer is kept.
func (c *Conn) Close() error {
	err := c.conn.Close()
	if s := c.set.Load(); s != nil {
		s.Remove(c)
	}
	return err
}

// Stack names the stack the conn came through, e.g. "net~shs".
func (c *Conn) Stack() string { return c.stack }

// RemoteKey returns the ed25519 key of the peer, or nil if no transform of
// the stack authenticated one (noauth).
func (c *Conn) RemoteKey() ed25519.PublicKey { return RemoteKey(c.conn) }

// Auth returns the value the listener's Authorize hook returned for this
// peer, or nil.
func (c *Conn) Auth() any { return Auth(c.conn) }

// CloseWrite shuts down the writing side (for shs: sends the goodbye),
// if the top of the stack supports it.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.NetConn().(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return &net.OpError{Op: "close", Net: "multiserver", Addr: c.remote, Err: fmt.Errorf("%w: CloseWrite on %s", stack.ErrNotSupported, c.stack)}
}

// RemoteKey returns the remote peer's key from c or from any conn it wraps
// (through NetConn methods), or nil if none has one.
func RemoteKey(c net.Conn) ed25519.PublicKey {
	if p := findPeer(c); p != nil {
		return p.RemoteKey()
	}
	return nil
}

// Auth returns the authorization value of c or of any conn it wraps, or
// nil.
func Auth(c net.Conn) any {
	if p := findPeer(c); p != nil {
		return p.Auth()
	}
	return nil
}

func findPeer(c net.Conn) stack.Peer {
	for i := 0; c != nil && i < 32; i++ {
		if _, self := c.(*Conn); !self {
			if p, ok := c.(stack.Peer); ok {
				return p
			}
		}
		u, ok := c.(stack.Unwrapper)
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}

// connAddrs builds the local and remote addresses of a finished stack.
// layers holds the conn returned by each transform, in order; dialed is
// the canonical dialed address (nil on the accepting side).
func connAddrs(t stack.Transport, raw net.Conn, names []string, layers []net.Conn, dialed msaddr.Address) (local, remote *Addr) {
	var la, ra msaddr.Address
	if s, ok := t.Section(raw.LocalAddr()); ok {
		la = append(la, s)
	} else {
		la = append(la, msaddr.Section{Name: t.Name()})
	}
	if dialed != nil {
		ra = append(ra, dialed[0])
	} else if s, ok := t.Section(raw.RemoteAddr()); ok {
		ra = append(ra, s)
	} else {
		ra = append(ra, msaddr.Section{Name: t.Name()})
	}
	prev := raw
	for i, l := range layers {
		passThrough := sameConn(l, prev)
		prev = l
		if sc, ok := l.(stack.Sectioner); ok && !passThrough {
			la = append(la, sc.LocalSection())
			ra = append(ra, sc.RemoteSection())
			continue
		}
		la = append(la, msaddr.Section{Name: names[i]})
		if dialed != nil {
			ra = append(ra, dialed[i+1])
		} else {
			ra = append(ra, msaddr.Section{Name: names[i]})
		}
	}
	return NewAddr(msaddr.Multi{la}), NewAddr(msaddr.Multi{ra})
}

// sameConn reports whether a transform passed its conn through unchanged
// (a conn of a non-comparable type is never considered the same).
func sameConn(a, b net.Conn) bool {
	if a == nil || b == nil || reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}
