package stacktest_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/stack"
	"github.com/go-multiserver/multiserver/stack/stacktest"
)

// The suites must catch broken plugins, or passing them would mean
// nothing. Each broken plugin below runs the suite in a child process
// (a failing suite fails its test; that is what the parent checks for).

// lossyConn drops the first byte of every write of more than one byte,
// and says it wrote them all.
type lossyConn struct{ net.Conn }

func (c lossyConn) Write(p []byte) (int, error) {
	if len(p) < 2 {
		return c.Conn.Write(p)
	}
	n, err := c.Conn.Write(p[1:])
	if n > 0 {
		n++
	}
	return n, err
}

// lossyTransport is an in-memory transport whose dialed conns lose bytes.
type lossyTransport struct{ *stacktest.Transport }

func (t lossyTransport) Dial(ctx context.Context, ep stack.Endpoint) (net.Conn, error) {
	c, err := t.Transport.Dial(ctx, ep)
	if err != nil {
		return nil, err
	}
	return lossyConn{c}, nil
}

// stuckTransport's listeners ignore Close: Accept keeps waiting.
type stuckTransport struct{ *stacktest.Transport }

type stuckListener struct{ stack.Listener }

func (stuckListener) Close() error { return nil }

func (t stuckTransport) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	ln, err := t.Transport.Listen(ctx, s, scopes)
	if err != nil {
		return nil, err
	}
	return stuckListener{ln}, nil
}

// corruptConn flips the bits of the first byte of every write.
type corruptConn struct{ net.Conn }

func (c corruptConn) Write(p []byte) (int, error) {
	q := append([]byte(nil), p...)
	if len(q) > 0 {
		q[0] ^= 0xff
	}
	return c.Conn.Write(q)
}

// memPeers returns TestDialer peers on mem listeners of tr, with the
// far end's conns passed through wrap.
func memPeers(tr *stacktest.Transport, wrap func(net.Conn) net.Conn, closeLoses bool) func(t *testing.T) stacktest.Peer {
	return func(t *testing.T) stacktest.Peer {
		ln, err := tr.Listen(context.Background(), msaddr.Section{Name: "mem"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return stacktest.Peer{
			Dial: ln.Advertise(stack.Device)[0].String(),
			Accept: func() (net.Conn, error) {
				c, err := ln.Accept()
				if err != nil {
					return nil, err
				}
				return wrap(c), nil
			},
			CloseLosesInput: closeLoses,
		}
	}
}

func same(c net.Conn) net.Conn { return c }

// lossyTransform is noauth whose conns lose bytes.
type lossyTransform struct{ stack.Transform }

func (t lossyTransform) Client(ctx context.Context, c net.Conn, ep stack.Endpoint) (net.Conn, error) {
	c, err := t.Transform.Client(ctx, c, ep)
	if err != nil {
		return nil, err
	}
	return lossyConn{c}, nil
}

var brokenPlugins = map[string]struct {
	run      func(t *testing.T)
	failures []string // subtests that must fail
}{
	"lossy-transport": {
		run: func(t *testing.T) {
			stacktest.TestTransport(t, lossyTransport{stacktest.NewTransport("mem")}, "mem")
		},
		failures: []string{"WriteThenClose"},
	},
	"stuck-listener": {
		run: func(t *testing.T) {
			stacktest.TestTransport(t, stuckTransport{stacktest.NewTransport("mem")}, "mem")
		},
		failures: []string{"CloseUnblocksAccept"},
	},
	"lossy-dialer": {
		run: func(t *testing.T) {
			mem := stacktest.NewTransport("mem")
			stacktest.TestDialer(t, lossyTransport{mem}, memPeers(mem, same, false))
		},
		failures: []string{"WriteThenClose"},
	},
	"corrupt-far-end-no-eof": {
		// The far end's data is checked without a close after it
		// (Peer.CloseLosesInput): corruption must still be caught.
		run: func(t *testing.T) {
			mem := stacktest.NewTransport("mem")
			stacktest.TestDialer(t, mem, memPeers(mem, func(c net.Conn) net.Conn { return corruptConn{c} }, true))
		},
		failures: []string{"WriteThenClose"},
	},
	"lossy-transform": {
		run:      func(t *testing.T) { stacktest.TestTransform(t, lossyTransform{noauth.New(nil)}) },
		failures: []string{"WriteThenClose"},
	},
}

// TestBrokenPlugin runs the suite on the broken plugin named by
// $STACKTEST_BROKEN; TestSuitesCatchBrokenPlugins runs it that way.
func TestBrokenPlugin(t *testing.T) {
	name := os.Getenv("STACKTEST_BROKEN")
	if name == "" {
		t.Skip("runs in a child process of TestSuitesCatchBrokenPlugins")
	}
	brokenPlugins[name].run(t)
}

func TestSuitesCatchBrokenPlugins(t *testing.T) {
	for name, bp := range brokenPlugins {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenPlugin$", "-test.v", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), "STACKTEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("the suite passed a broken plugin (or did not run: %v):\n%s", err, out)
			}
			for _, sub := range bp.failures {
				if !strings.Contains(string(out), "--- FAIL: TestBrokenPlugin/"+sub) {
					t.Errorf("subtest %s did not fail:\n%s", sub, out)
				}
			}
		})
	}
}
