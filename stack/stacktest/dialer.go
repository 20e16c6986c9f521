package stacktest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// A Peer is the far end of one conn for TestDialer.
type Peer struct {
	// Dial is a dial section of the transport under test that reaches
	// this far end, such as "onion:<name>.onion:8008".
	Dial string
	// Accept returns the far end's conn once the transport has dialed
	// Dial. It is called once, while Dial runs.
	Accept func() (net.Conn, error)
	// CloseLosesInput says that closing the far end discards what the
	// dialed conn has not read yet, as a tty hang-up does. The suite then
	// checks data from the far end to the dialed conn without a close
	// after it; data the other way is always checked up to EOF.
	CloseLosesInput bool
}

// TestDialer runs the part of the conformance suite that applies to a
// transport seen from the dialing side only: one that cannot listen
// (onion, which reaches a service through a SOCKS5 proxy), or whose
// listener cannot serve the suite's conns one after another with an end
// of file between them (serial). peer is called for every conn the suite
// needs and returns a far end that has not been dialed yet; the far end
// is the test's, not the transport's, so only the dialed conn is checked:
// data arrives whole both ways, the conn passes nettest.TestConn (as c1),
// Section describes its RemoteAddr, a cancelled context ends Dial, and the
// dial section parses to an endpoint whose canonical section parses to
// itself, and Dial refuses an endpoint another plugin's Parse made.
func TestDialer(t *testing.T, tr stack.Transport, peer func(t *testing.T) Peer) {
	t.Helper()
	parse := func(t *testing.T, p Peer) msaddr.Section {
		t.Helper()
		s, err := msaddr.ParseSection(p.Dial)
		if err != nil {
			t.Fatalf("dial section %q: %v", p.Dial, err)
		}
		return s
	}
	// endpoint parses s with tr, as the multiserver layer does once per
	// dial.
	endpoint := func(t *testing.T, s msaddr.Section) stack.Endpoint {
		t.Helper()
		ep, err := tr.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%s): %v", s, err)
		}
		return ep
	}
	pair := func(t *testing.T) (client, far net.Conn, p Peer) {
		t.Helper()
		p = peer(t)
		s := parse(t, p)
		ep := endpoint(t, s)
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := p.Accept()
			ch <- res{c, err}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		c, err := tr.Dial(ctx, ep)
		if err != nil {
			// The far end is the test's to end: its cleanup unblocks
			// Accept.
			t.Fatalf("Dial(%s): %v", s, err)
		}
		r := <-ch
		if r.err != nil {
			c.Close()
			t.Fatalf("far end Accept: %v", r.err)
		}
		return c, r.c, p
	}

	t.Run("Parse", func(t *testing.T) {
		s := parse(t, peer(t))
		if s.Name != tr.Name() {
			t.Errorf("dial section %s is not named %q", s, tr.Name())
		}
		checkCanonical(t, sections(tr.Parse), s)
	})
	t.Run("ParseOddSections", func(t *testing.T) {
		checkOddSections(t, tr.Name(), sections(tr.Parse))
	})
	t.Run("ForeignEndpoint", func(t *testing.T) {
		c, err := tr.Dial(context.Background(), foreignEndpoint{})
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, stack.ErrAddress) {
			t.Errorf("Dial of another plugin's endpoint: %v; want an error wrapping stack.ErrAddress", err)
		}
	})
	whole := t.Run("WriteThenClose", func(t *testing.T) {
		c, far, _ := pair(t)
		checkWhole(t, "dialer to far end", c, far)
		c, far, p := pair(t)
		if p.CloseLosesInput {
			checkUnclosed(t, "far end to dialer", far, c)
		} else {
			checkWhole(t, "far end to dialer", far, c)
		}
	})
	t.Run("Section", func(t *testing.T) {
		c, far, _ := pair(t)
		defer c.Close()
		defer far.Close()
		if got, ok := tr.Section(c.RemoteAddr()); !ok || got.Name != tr.Name() {
			t.Errorf("Section(RemoteAddr %v) = %s, %v; want a %s section", c.RemoteAddr(), got, ok, tr.Name())
		}
		if got, ok := tr.Section(foreignAddr{}); ok {
			t.Errorf("Section of another transport's address = %s, true; want false", got)
		}
	})
	t.Run("DialCancelled", func(t *testing.T) {
		ep := endpoint(t, parse(t, peer(t)))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() {
			c, err := tr.Dial(ctx, ep)
			if err == nil {
				c.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Error("Dial with a cancelled context succeeded")
			}
		case <-time.After(bound):
			t.Fatalf("Dial with a cancelled context did not return within %v", bound)
		}
	})
	t.Run("Nettest", func(t *testing.T) {
		skipIfBroken(t, whole)
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			c1, c2, _ = pair(t)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	})
}
