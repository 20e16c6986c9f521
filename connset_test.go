package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// peer is one side of TestConnSetSimultaneousDials: a listener and a
// dialer sharing an identity and a ConnSet.
type peer struct {
	name  string
	key   ed25519.PublicKey
	set   *ms.ConnSet
	ln    *ms.Listener
	d     *ms.Dialer
	ended atomic.Int64  // server-side handshakes that ended (failed, dropped or accepted)
	endc  chan struct{} // one send per ended server-side handshake
	drops atomic.Int64
	fails atomic.Int64 // server-side handshakes that failed
	fail1 atomic.Value // the first such failure
	wg    sync.WaitGroup
}

func newPeer(t *testing.T, name string) *peer {
	_, id, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{name: name, key: id.Public().(ed25519.PublicKey), endc: make(chan struct{}, 4096)}
	p.set = &ms.ConnSet{OnDrop: func(c *ms.Conn, err error) {
		p.drops.Add(1)
		if !errors.Is(err, ms.ErrDuplicate) || !strings.Contains(err.Error(), "kept instead") {
			t.Errorf("%s: OnDrop(%v)", name, err)
		}
	}}
	ended := func() { p.ended.Add(1); p.endc <- struct{}{} }
	cfg := ms.Config{Identity: id, ConnSet: p.set, Trace: &ms.Trace{HandshakeDone: func(i ms.HandshakeInfo) {
		if !i.Dialing && i.Err != nil {
			p.fails.Add(1)
			p.fail1.CompareAndSwap(nil, i.Err)
			ended()
		}
	}}}
	// 128 handshakes at a time on a loaded machine can take seconds a
	// step; a listener's step bound (5s by default) cut some of them off
	// in CI, and the client saw that as "server hung up after client
	// authentication". This test is about the set, not about slow
	// clients: only HandshakeTimeout bounds the handshakes here.
	lc := &ms.ListenConfig{Config: cfg, HandshakeTimeout: time.Minute, HandshakeStepTimeout: time.Minute, OnError: func(err error) {
		if errors.Is(err, ms.ErrDuplicate) {
			ended()
		}
	}}
	p.ln = listen(t, lc, "net:127.0.0.1:0~shs")
	p.d = &ms.Dialer{Config: cfg, HandshakeTimeout: time.Minute}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := p.ln.Accept()
			if err != nil {
				return
			}
			ended()
			p.serve(c.(*ms.Conn))
		}
	}()
	t.Cleanup(p.wg.Wait)
	return p
}

// serve reads c until the peer closes it, then forgets and closes it.
func (p *peer) serve(c *ms.Conn) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		io.Copy(io.Discard, c)
		p.set.Remove(c)
		c.Close()
	}()
}

// TestConnSetSimultaneousDials: two peers dial each other 1,000 times
// each, concurrently; afterwards each holds exactly one conn to the other,
// and it is the same conn (the same pair of ports) on both sides.
func TestConnSetSimultaneousDials(t *testing.T) {
	const dials, parallel = 1000, 64
	a, b := newPeer(t, "a"), newPeer(t, "b")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var dup, other atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	dialAll := func(from, to *peer) {
		defer wg.Done()
		sem := make(chan struct{}, parallel)
		var inner sync.WaitGroup
		addr := to.ln.Addr().String()
		for range dials {
			sem <- struct{}{}
			inner.Add(1)
			go func() {
				defer inner.Done()
				defer func() { <-sem }()
				c, err := from.d.DialContext(ctx, addr)
				switch {
				case err == nil:
					from.serve(c.(*ms.Conn))
				case errors.Is(err, ms.ErrDuplicate):
					dup.Add(1)
				default:
					other.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}()
		}
		inner.Wait()
	}
	wg.Add(2)
	go dialAll(a, b)
	go dialAll(b, a)
	wg.Wait()
	// Every server-side handshake has ended one way or another.
	for _, p := range []*peer{a, b} {
		for i := 0; i < dials; i++ {
			select {
			case <-p.endc:
			case <-ctx.Done():
				t.Fatalf("%s: only %d of %d server-side handshakes ended", p.name, p.ended.Load(), dials)
			}
		}
	}
	t.Logf("dials lost to a better conn: %d; other dial errors: %d (first: %v); drops: a %d, b %d",
		dup.Load(), other.Load(), firstErr.Load(), a.drops.Load(), b.drops.Load())
	if n := other.Load(); n > 0 {
		t.Errorf("%d dials failed other than with ErrDuplicate, first: %v", n, firstErr.Load())
	}
	// A duplicate fails no handshake: its server side finishes, then the
	// set closes it. So a failed server-side handshake is a failure of
	// the test, and its reason says why the client's dial failed.
	for _, p := range []*peer{a, b} {
		if n := p.fails.Load(); n > 0 {
			t.Errorf("%s: %d server-side handshakes failed, first: %v", p.name, n, p.fail1.Load())
		}
	}

	if a.set.Len() != 1 || b.set.Len() != 1 {
		t.Fatalf("sets hold %d and %d peers, want 1 each", a.set.Len(), b.set.Len())
	}
	ca, cb := a.set.Get(b.key), b.set.Get(a.key)
	if ca == nil || cb == nil {
		t.Fatalf("a holds %v for b, b holds %v for a", ca, cb)
	}
	aLocal, aRemote := transportOf(t, ca.LocalAddr()), transportOf(t, ca.RemoteAddr())
	bLocal, bRemote := transportOf(t, cb.LocalAddr()), transportOf(t, cb.RemoteAddr())
	t.Logf("a keeps %s→%s, b keeps %s→%s", aLocal, aRemote, bLocal, bRemote)
	if aLocal != bRemote || aRemote != bLocal {
		t.Errorf("the two sides keep different conns: a %s→%s, b %s→%s", aLocal, aRemote, bLocal, bRemote)
	}
	// The rule: the conn dialed by the smaller key.
	aDialed := ca.RemoteAddr().String() == b.ln.Addr().String()
	if aSmaller := bytes.Compare(a.key, b.key) < 0; aDialed != aSmaller {
		t.Errorf("kept conn dialed by a: %v; a's key is the smaller: %v", aDialed, aSmaller)
	}
	// Close everything; the serving goroutines end.
	a.ln.Close()
	b.ln.Close()
	ca.Close()
	cb.Close()
}

// transportOf returns the transport section of a conn address.
func transportOf(t *testing.T, a interface{ String() string }) string {
	t.Helper()
	s := a.String()
	if i := strings.Index(s, "~"); i >= 0 {
		s = s[:i]
	}
	return s
}

// TestConnSetOrderIndependent: both sides see the same three conns in
// opposite orders and keep the same one. First-wins or last-wins would
// keep different conns here.
func TestConnSetOrderIndependent(t *testing.T) {
	ids := make([]ed25519.PrivateKey, 2)
	for i := range ids {
		_, ids[i], _ = ed25519.GenerateKey(rand.Reader)
	}
	lnA := listen(t, &ms.ListenConfig{Config: ms.Config{Identity: ids[0]}}, "net:127.0.0.1:0~shs")
	lnB := listen(t, &ms.ListenConfig{Config: ms.Config{Identity: ids[1]}}, "net:127.0.0.1:0~shs")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pair := func(id ed25519.PrivateKey, to *ms.Listener) (dialed, accepted *ms.Conn) {
		c, err := (&ms.Dialer{Config: ms.Config{Identity: id}}).DialContext(ctx, to.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := to.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		return c.(*ms.Conn), s.(*ms.Conn)
	}
	xa, xb := pair(ids[0], lnB)   // a dials b
	ya, yb := pair(ids[1], lnA)   // b dials a (ya is b's end)
	x2a, x2b := pair(ids[0], lnB) // a dials b again
	var setA, setB ms.ConnSet
	for _, c := range []*ms.Conn{xa, yb, x2a} { // a's ends: yb is the conn b dialed, accepted by a
		setA.Add(c)
	}
	for _, c := range []*ms.Conn{x2b, ya, xb} { // b's ends, in the opposite order
		setB.Add(c)
	}
	keyA, keyB := ids[0].Public().(ed25519.PublicKey), ids[1].Public().(ed25519.PublicKey)
	ka, kb := setA.Get(keyB), setB.Get(keyA)
	if ka == nil || kb == nil {
		t.Fatalf("kept %v and %v", ka, kb)
	}
	if transportOf(t, ka.LocalAddr()) != transportOf(t, kb.RemoteAddr()) || transportOf(t, ka.RemoteAddr()) != transportOf(t, kb.LocalAddr()) {
		t.Errorf("a keeps %s→%s, b keeps %s→%s", ka.LocalAddr(), ka.RemoteAddr(), kb.LocalAddr(), kb.RemoteAddr())
	}
	if setA.Len() != 1 || setB.Len() != 1 {
		t.Errorf("Len %d, %d; want 1, 1", setA.Len(), setB.Len())
	}
	// A loser is closed: reading it fails at once.
	for _, c := range []*ms.Conn{xa, yb, x2a} {
		if c != ka {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Errorf("dropped conn %s still reads", c.LocalAddr())
			}
		}
	}
}

// TestConnSetCloseRemoves: closing the kept conn frees its place, so a
// conn that ranks lower is kept next, and a stale entry never blocks a
// peer.
func TestConnSetCloseRemoves(t *testing.T) {
	ids := make([]ed25519.PrivateKey, 2)
	for i := range ids {
		_, ids[i], _ = ed25519.GenerateKey(rand.Reader)
	}
	var set ms.ConnSet
	lnB := listen(t, &ms.ListenConfig{Config: ms.Config{Identity: ids[1]}}, "net:127.0.0.1:0~shs")
	d := &ms.Dialer{Config: ms.Config{Identity: ids[0], ConnSet: &set}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var kept []*ms.Conn
	for range 2 {
		c, err := d.DialContext(ctx, lnB.Addr().String())
		if err == nil {
			kept = append(kept, c.(*ms.Conn))
			defer c.Close()
		} else if !errors.Is(err, ms.ErrDuplicate) {
			t.Fatal(err)
		}
		s, err := lnB.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
	}
	if len(kept) == 0 || set.Len() != 1 {
		t.Fatalf("%d dials kept, set holds %d", len(kept), set.Len())
	}
	keyB := ids[1].Public().(ed25519.PublicKey)
	cur := set.Get(keyB)
	cur.Close()
	if set.Len() != 0 || set.Get(keyB) != nil {
		t.Fatalf("closed conn still in the set (Len %d)", set.Len())
	}
	c, err := d.DialContext(ctx, lnB.Addr().String())
	if err != nil {
		t.Fatalf("dial after the kept conn closed: %v", err)
	}
	defer c.Close()
	if s, err := lnB.Accept(); err == nil {
		defer s.Close()
	}
	if set.Get(keyB) != c.(*ms.Conn) {
		t.Error("the new conn is not kept")
	}
}
