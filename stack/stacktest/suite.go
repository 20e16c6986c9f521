package stacktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// bound is how long the suites wait for something that must happen at
// once (Accept unblocking after Close, a dial ending after its context).
// It detects hangs; it is not a performance requirement.
const bound = 5 * time.Second

// payload is what the data tests send each way: more than one frame of
// any transform and more than a socket buffer.
const payload = 1<<18 + 7

// TestTransport runs the conformance suite on tr. listen is a listen
// section that binds a fresh address each time, such as
// "net:127.0.0.1:0" or "unix:/tmp/dir/sock" (the suite removes nothing:
// give it a section it may bind repeatedly, one at a time). The listener
// must be reachable from the device scope.
func TestTransport(t *testing.T, tr stack.Transport, listen string) {
	t.Helper()
	ls, err := msaddr.ParseSection(listen)
	if err != nil {
		t.Fatalf("listen section %q: %v", listen, err)
	}
	// open listens and returns the listener and its dial section.
	open := func(t *testing.T) (stack.Listener, msaddr.Section) {
		t.Helper()
		ln, err := tr.Listen(context.Background(), ls, []stack.Scope{stack.Device})
		if err != nil {
			t.Fatalf("Listen(%s): %v", ls, err)
		}
		t.Cleanup(func() { ln.Close() })
		adv := ln.Advertise(stack.Device)
		if len(adv) == 0 {
			t.Fatalf("Listen(%s): the listener advertises nothing in the device scope", ls)
		}
		return ln, adv[0]
	}
	pair := func(t *testing.T, ln stack.Listener, s msaddr.Section) (client, server net.Conn) {
		t.Helper()
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := ln.Accept()
			ch <- res{c, err}
		}()
		ep, err := tr.Parse(s)
		if err != nil {
			ln.Close()
			<-ch
			t.Fatalf("Parse(%s): %v", s, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		c, err := tr.Dial(ctx, ep)
		if err != nil {
			ln.Close()
			<-ch
			t.Fatalf("Dial(%s): %v", s, err)
		}
		r := <-ch
		if r.err != nil {
			c.Close()
			t.Fatalf("Accept: %v", r.err)
		}
		return c, r.c
	}

	t.Run("Parse", func(t *testing.T) {
		_, s := open(t)
		if s.Name != tr.Name() {
			t.Errorf("advertised section %s is not named %q", s, tr.Name())
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
		ln, s := open(t)
		c, sc := pair(t, ln, s)
		checkWhole(t, "dialer to acceptor", c, sc)
		c, sc = pair(t, ln, s)
		checkWhole(t, "acceptor to dialer", sc, c)
	})
	t.Run("Section", func(t *testing.T) {
		ln, s := open(t)
		c, sc := pair(t, ln, s)
		defer c.Close()
		defer sc.Close()
		for _, a := range []net.Addr{c.LocalAddr(), sc.RemoteAddr(), sc.LocalAddr()} {
			if got, ok := tr.Section(a); !ok || got.Name != tr.Name() {
				t.Errorf("Section(%v) = %s, %v; want a %s section", a, got, ok, tr.Name())
			}
		}
		if got, ok := tr.Section(foreignAddr{}); ok {
			t.Errorf("Section of another transport's address = %s, true; want false", got)
		}
	})
	t.Run("CloseUnblocksAccept", func(t *testing.T) {
		ln, _ := open(t)
		checkCloseUnblocksAccept(t, ln)
	})
	t.Run("DialCancelled", func(t *testing.T) {
		_, s := open(t)
		ep, err := tr.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%s): %v", s, err)
		}
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
		ln, s := open(t)
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			c1, c2 = pair(t, ln, s)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	})
}

// TestTransform runs the conformance suite on tf over an in-memory
// transport. tf must accept the listen section that is its bare name
// ("shs", "noauth") on a device-scope listener, and a client made by tf
// must be admitted by a server made by tf.
func TestTransform(t *testing.T, tf stack.Transform) {
	t.Helper()
	type side struct {
		ln  stack.Listener
		st  stack.ServerTransform
		adv msaddr.Section // canonical: ep.Section()
		ep  stack.Endpoint // the advertised section as Parse returns it
	}
	open := func(t *testing.T) side {
		t.Helper()
		mem := NewTransport("mem")
		ln, err := mem.Listen(context.Background(), msaddr.Section{Name: "mem"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		st, err := tf.Listen(msaddr.Section{Name: tf.Name()}, ln)
		if err != nil {
			t.Fatalf("Listen(%s): %v", tf.Name(), err)
		}
		adv := st.Advertise()
		if adv.Name != tf.Name() {
			t.Fatalf("Advertise() = %s, not a %s section", adv, tf.Name())
		}
		p, err := tf.Parse(adv)
		if err != nil {
			t.Fatalf("Parse of the advertised section %s: %v", adv, err)
		}
		if p == nil {
			t.Fatalf("Parse of the advertised section %s returned a nil Endpoint", adv)
		}
		return side{ln: ln, st: st, adv: p.Section(), ep: p}
	}
	raw := func(t *testing.T, s side) (client, server net.Conn) {
		t.Helper()
		ch := make(chan net.Conn, 1)
		go func() {
			c, _ := s.ln.Accept()
			ch <- c
		}()
		mem := s.ln.(*Listener).t
		ep, err := mem.Parse(s.ln.Advertise(stack.Device)[0])
		if err != nil {
			t.Fatal(err)
		}
		c, err := mem.Dial(context.Background(), ep)
		if err != nil {
			t.Fatal(err)
		}
		return c, <-ch
	}
	pair := func(t *testing.T, s side) (client, server net.Conn) {
		t.Helper()
		rc, rs := raw(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := s.st.Server(ctx, rs)
			ch <- res{c, err}
		}()
		c, err := tf.Client(ctx, rc, s.ep)
		r := <-ch
		if err != nil || r.err != nil {
			rc.Close()
			rs.Close()
			t.Fatalf("handshake: client %v, server %v", err, r.err)
		}
		return c, r.c
	}

	t.Run("Parse", func(t *testing.T) {
		s := open(t)
		checkCanonical(t, sections(tf.Parse), s.adv)
	})
	t.Run("ParseOddSections", func(t *testing.T) {
		checkOddSections(t, tf.Name(), sections(tf.Parse))
	})
	t.Run("ForeignEndpoint", func(t *testing.T) {
		s := open(t)
		rc, rs := raw(t, s)
		defer rc.Close()
		defer rs.Close()
		c, err := tf.Client(context.Background(), rc, foreignEndpoint{})
		if err == nil && c != rc {
			c.Close()
		}
		if !errors.Is(err, stack.ErrAddress) {
			t.Errorf("Client with another plugin's endpoint: %v; want an error wrapping stack.ErrAddress", err)
		}
	})
	whole := t.Run("WriteThenClose", func(t *testing.T) {
		s := open(t)
		c, sc := pair(t, s)
		checkWhole(t, "client to server", c, sc)
		c, sc = pair(t, s)
		checkWhole(t, "server to client", sc, c)
	})
	t.Run("Sections", func(t *testing.T) {
		s := open(t)
		c, sc := pair(t, s)
		defer c.Close()
		defer sc.Close()
		cs, ok1 := c.(stack.Sectioner)
		ss, ok2 := sc.(stack.Sectioner)
		if !ok1 || !ok2 {
			t.Skipf("conns do not describe themselves (stack.Sectioner): client %v, server %v", ok1, ok2)
		}
		if got := cs.RemoteSection(); !got.Equal(s.adv) {
			t.Errorf("client RemoteSection %s, want the section it dialed, %s", got, s.adv)
		}
		if got, want := ss.RemoteSection(), cs.LocalSection(); !got.Equal(want) {
			t.Errorf("server RemoteSection %s, client LocalSection %s", got, want)
		}
		if got, want := ss.LocalSection(), s.adv; !got.Equal(want) {
			t.Errorf("server LocalSection %s, advertised %s", got, want)
		}
	})
	t.Run("SilentPeer", func(t *testing.T) {
		// A handshake whose peer never answers ends with its context.
		s := open(t)
		for _, role := range []string{"Client", "Server"} {
			rc, rs := raw(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			done := make(chan struct{})
			go func() {
				defer close(done)
				var c net.Conn
				var err error
				if role == "Client" {
					c, err = tf.Client(ctx, rc, s.ep)
				} else {
					c, err = s.st.Server(ctx, rs)
				}
				if err == nil {
					c.Close()
				}
			}()
			select {
			case <-done:
			case <-time.After(bound):
				t.Errorf("%s with a silent peer did not return within %v of its context's end", role, bound)
			}
			cancel()
			rc.Close()
			rs.Close()
			<-done
		}
	})
	t.Run("Nettest", func(t *testing.T) {
		skipIfBroken(t, whole)
		s := open(t)
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			c1, c2 = pair(t, s)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	})
}

// skipIfBroken skips nettest on conns that lose or corrupt data: its
// tests read exact lengths and would wait forever.
func skipIfBroken(t *testing.T, whole bool) {
	t.Helper()
	if !whole {
		t.Skip("not run: WriteThenClose failed, and nettest would wait forever for the data the conns lost")
	}
}

// sections adapts a Parse to the canonical sections its endpoints print.
func sections(parse func(msaddr.Section) (stack.Endpoint, error)) func(msaddr.Section) (msaddr.Section, error) {
	return func(s msaddr.Section) (msaddr.Section, error) {
		ep, err := parse(s)
		if err != nil {
			return msaddr.Section{}, err
		}
		if ep == nil {
			return msaddr.Section{}, fmt.Errorf("a nil Endpoint and no error from Parse(%s)", s)
		}
		return ep.Section(), nil
	}
}

// checkOddSections feeds parse sections of its name that addresses can
// carry but no plugin expects: Parse sees whatever a user dials. It must
// not panic, and what it accepts must be canonical.
func checkOddSections(t *testing.T, name string, parse func(msaddr.Section) (msaddr.Section, error)) {
	t.Helper()
	long := strings.Repeat("A", 4096)
	for _, args := range [][]string{nil, {""}, {"", ""}, {"x"}, {"x", "y", "z", "w", "v"}, {long}, {"\x00", "::"}, {"%zz", "[::1"}} {
		s := msaddr.Section{Name: name, Args: args}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Parse(%s) panicked: %v", s, r)
				}
			}()
			if p, err := parse(s); err == nil {
				if q, err := parse(p); err != nil || !q.Equal(p) {
					t.Errorf("Parse(%s) = %s, whose Parse is %s, %v; want the same section", s, p, q, err)
				}
			}
		}()
	}
}

// checkCanonical checks that s parses and that its canonical form parses
// to itself.
func checkCanonical(t *testing.T, parse func(msaddr.Section) (msaddr.Section, error), s msaddr.Section) {
	t.Helper()
	p, err := parse(s)
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	q, err := parse(p)
	if err != nil || !q.Equal(p) {
		t.Errorf("Parse(%s) = %s, whose Parse is %s, %v; want the same section", s, p, q, err)
	}
}

// checkWhole writes payload bytes to w, closes w, and checks that r reads
// exactly them and then EOF. It closes both conns.
func checkWhole(t *testing.T, dir string, w, r net.Conn) {
	t.Helper()
	defer w.Close()
	defer r.Close()
	want := payloadBytes()
	werr := make(chan error, 1)
	go func() {
		_, err := w.Write(want)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		werr <- err
	}()
	// A hang is a failure: close both after the bound.
	stop := time.AfterFunc(4*bound, func() { w.Close(); r.Close() })
	defer stop.Stop()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Errorf("%s: read: %v after %d bytes", dir, err, len(got))
	}
	if err := <-werr; err != nil {
		t.Errorf("%s: write and close: %v", dir, err)
	}
	checkSame(t, dir, got, want)
}

// checkUnclosed writes payload bytes to w and checks that r reads exactly
// them, for a w whose Close may discard what r has not read yet. It
// closes both conns.
func checkUnclosed(t *testing.T, dir string, w, r net.Conn) {
	t.Helper()
	defer w.Close()
	defer r.Close()
	want := payloadBytes()
	werr := make(chan error, 1)
	go func() {
		_, err := w.Write(want)
		werr <- err
	}()
	stop := time.AfterFunc(4*bound, func() { w.Close(); r.Close() })
	defer stop.Stop()
	got := make([]byte, len(want))
	n, err := io.ReadFull(r, got)
	if err != nil {
		t.Errorf("%s: read: %v after %d bytes", dir, err, n)
	}
	if err := <-werr; err != nil {
		t.Errorf("%s: write: %v", dir, err)
	}
	checkSame(t, dir, got[:n], want)
}

func payloadBytes() []byte {
	b := make([]byte, payload)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func checkSame(t *testing.T, dir string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("%s: read %d bytes, wrote %d; first difference at byte %d", dir, len(got), len(want), i)
	}
}

func checkCloseUnblocksAccept(t *testing.T, ln net.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	// Accept may not have started yet; Close must unblock it either way.
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want an error wrapping net.ErrClosed", err)
		}
	case <-time.After(bound):
		t.Errorf("Close did not unblock Accept within %v", bound)
	}
}

// foreignEndpoint is an Endpoint no plugin's Parse returns.
type foreignEndpoint struct{}

func (foreignEndpoint) Section() msaddr.Section { return msaddr.Section{Name: "stacktest-foreign"} }

type foreignAddr struct{}

func (foreignAddr) Network() string { return "stacktest-foreign" }
func (foreignAddr) String() string  { return "elsewhere" }
