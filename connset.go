package multiserver

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"net"
	"sync"
)

// A ConnSet keeps at most one established conn per remote key. Set it as
// Config.ConnSet of a Dialer and a ListenConfig that share an identity, and
// every conn they make is offered to it after its handshake.
//
// When two peers dial each other at once, each side ends up with several
// conns to the other, and both must keep the same one. First-wins and
// last-wins can keep different conns on the two sides, so the set ranks
// conns by a rule both sides compute alike: a conn dialed by the smaller
// key (bytewise) beats one dialed by the larger; between conns dialed by
// the same side, the smaller session ID (shs.Conn.SessionID, the same on
// both ends) wins. Each side keeps the best conn it has seen, and the best
// conn of all is never closed by either side, so both converge on it.
//
// A conn that loses is closed at once (for shs with its goodbye, so the
// peer sees a clean end), never returned by Dial or Accept, and reported
// to OnDrop. The reason is not sent on the wire, which has no room for
// it; a peer that uses a ConnSet drops the same conn for the same reason
// when it sees both, and logs it the same way.
//
// Closing a kept conn removes it from the set. Conns without a remote key
// (noauth) are not tracked. A ConnSet must not be copied after first use.
type ConnSet struct {
	// OnDrop, if not nil, is told about every conn the set closed because
	// a better conn to the same peer exists; err wraps ErrDuplicate and
	// says which conn was kept. It is called without the set's lock held,
	// possibly concurrently.
	OnDrop func(dropped *Conn, err error)

	mu    sync.Mutex
	conns map[string]*Conn // by remote key
}

// Add offers c, a conn that finished its handshake; a Dialer or Listener
// whose Config.ConnSet is s calls it for every conn it makes. It returns an error
// wrapping ErrDuplicate, after closing c, if c loses to the conn the set
// holds for the same key; otherwise c is kept and the conn it replaces,
// if any, is closed.
func (s *ConnSet) Add(c *Conn) error {
	key := c.RemoteKey()
	if key == nil {
		return nil
	}
	s.mu.Lock()
	if s.conns == nil {
		s.conns = make(map[string]*Conn)
	}
	old := s.conns[string(key)]
	var drop, keep *Conn
	switch {
	case old == nil:
		s.conns[string(key)] = c
		c.set.Store(s)
	case better(c, old):
		s.conns[string(key)] = c
		c.set.Store(s)
		drop, keep = old, c
	default:
		drop, keep = c, old
	}
	s.mu.Unlock()
	if drop == nil {
		return nil
	}
	err := fmt.Errorf("%w: %s kept instead", ErrDuplicate, describeConn(keep))
	drop.Close()
	if s.OnDrop != nil {
		s.OnDrop(drop, fmt.Errorf("%s dropped: %w", describeConn(drop), err))
	}
	if drop == c {
		return err
	}
	return nil
}

// Get returns the conn kept for the remote key, or nil.
func (s *ConnSet) Get(remote ed25519.PublicKey) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[string(remote)]
}

// Remove forgets c if it is the conn kept for its key, so that the next
// conn to that peer is kept. Conn.Close calls it; it does not close c.
func (s *ConnSet) Remove(c *Conn) {
	key := c.RemoteKey()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[string(key)] == c {
		delete(s.conns, string(key))
	}
}

// Len returns the number of peers the set holds a conn for.
func (s *ConnSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// better reports whether a ranks before b; both have the same remote key.
func better(a, b *Conn) bool {
	da, db := a.dialerKey(), b.dialerKey()
	if c := bytes.Compare(da, db); c != 0 {
		return c < 0
	}
	return bytes.Compare(a.sessionID(), b.sessionID()) < 0
}

// dialerKey is the key of the side that dialed c.
func (c *Conn) dialerKey() []byte {
	if c.dialed {
		if p, ok := findLocalKeyer(c.conn); ok {
			return p.LocalKey()
		}
		return nil
	}
	return c.RemoteKey()
}

// sessionID is what both ends of c know alike: the shs session ID, or
// else the transport's address pair, dialing end first.
func (c *Conn) sessionID() []byte {
	for n, i := net.Conn(c.conn), 0; n != nil && i < 32; i++ {
		if s, ok := n.(interface{ SessionID() [32]byte }); ok {
			id := s.SessionID()
			return id[:]
		}
		u, ok := n.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		n = u.NetConn()
	}
	la, ra := c.local.String(), c.remote.String()
	if c.dialed {
		return []byte(la + " " + ra)
	}
	return []byte(ra + " " + la)
}

func findLocalKeyer(n net.Conn) (interface{ LocalKey() ed25519.PublicKey }, bool) {
	for i := 0; n != nil && i < 32; i++ {
		if p, ok := n.(interface{ LocalKey() ed25519.PublicKey }); ok {
			return p, true
		}
		u, ok := n.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		n = u.NetConn()
	}
	return nil, false
}

func describeConn(c *Conn) string {
	dir := "accepted"
	if c.dialed {
		dir = "dialed"
	}
	return fmt.Sprintf("conn %s %s→%s", dir, transportPart(c.local), transportPart(c.remote))
}

// transportPart is the transport section of a conn address, without keys.
func transportPart(a *Addr) string {
	if a == nil {
		return "?"
	}
	m := a.Multi()
	if len(m) == 0 || len(m[0]) == 0 {
		return "?"
	}
	return m[0][0].String()
}
