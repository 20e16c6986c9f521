package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// recorder is a Trace that writes one line per event.
type recorder struct {
	mu     sync.Mutex
	lines  []string
	closed chan ms.CloseInfo
	done   chan ms.HandshakeInfo
	accept chan ms.AcceptInfo
}

func newRecorder() *recorder {
	return &recorder{closed: make(chan ms.CloseInfo, 16), done: make(chan ms.HandshakeInfo, 16), accept: make(chan ms.AcceptInfo, 16)}
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *recorder) trace() *ms.Trace {
	return &ms.Trace{
		DialStart:    func(i ms.DialStartInfo) { r.add("dial-start") },
		ConnectStart: func(i ms.ConnectInfo) { r.add("connect-start %d %s", i.Alt.Index, i.Alt.Stack) },
		ConnectDone:  func(i ms.ConnectInfo) { r.add("connect-done %d %s", i.Alt.Index, reason(i.Reason)) },
		DialDone: func(i ms.DialDoneInfo) {
			r.add("dial-done %s conn=%v", reason(ms.FailureReason(i.Err)), i.Conn != nil)
		},
		Accept: func(i ms.AcceptInfo) { r.add("accept %s %s", i.Stack, reason(i.Reason)); r.accept <- i },
		HandshakeStart: func(i ms.HandshakeInfo) {
			r.add("handshake-start dialing=%v %s", i.Dialing, i.Stack)
		},
		HandshakeDone: func(i ms.HandshakeInfo) {
			r.add("handshake-done dialing=%v %s %s conn=%v", i.Dialing, i.Stack, reason(i.Reason), i.Conn != nil)
			r.done <- i
		},
		Closed: func(i ms.CloseInfo) {
			r.add("closed dialing=%v %s read=%d written=%d", i.Dialing, i.Stack, i.Read, i.Written)
			r.closed <- i
		},
	}
}

func reason(s string) string {
	if s == "" {
		return "ok"
	}
	return s
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s event within 10s", what)
		panic("unreachable")
	}
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestTraceEvents follows one dial with a failing and a working
// alternative and the conn it makes, on both sides, byte counts included.
func TestTraceEvents(t *testing.T) {
	srv, cli := newRecorder(), newRecorder()
	ln := listen(t, &ms.ListenConfig{Config: ms.Config{Trace: srv.trace()}}, "net:127.0.0.1:0~shs")
	echo(t, ln)
	good := ln.Addr().String()
	bad := fmt.Sprintf("net:127.0.0.1:%d%s", freePort(t), good[strings.Index(good, "~"):])
	d := &ms.Dialer{Config: ms.Config{Trace: cli.trace()}, FallbackDelay: -1}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, bad+";"+good)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, 1000)
	roundTrip(t, c, 234)
	c.Close()
	ci := recv(t, cli.closed, "client closed")
	si := recv(t, srv.closed, "server closed") // echo closes after EOF
	if ci.Read != 1234 || ci.Written != 1234 || !ci.Dialing || ci.Stack != "net~shs" || ci.Remote.String() != good {
		t.Errorf("client CloseInfo %+v, want 1234 bytes each way", ci)
	}
	if si.Read != 1234 || si.Written != 1234 || si.Dialing {
		t.Errorf("server CloseInfo %+v, want 1234 bytes each way", si)
	}
	wantCli := []string{
		"dial-start",
		"connect-start 0 net~shs",
		"connect-done 0 connect",
		"connect-start 1 net~shs",
		"connect-done 1 ok",
		"handshake-start dialing=true net~shs",
		"handshake-done dialing=true net~shs ok conn=true",
		"dial-done ok conn=true",
		"closed dialing=true net~shs read=1234 written=1234",
	}
	if got := cli.events(); strings.Join(got, "\n") != strings.Join(wantCli, "\n") {
		t.Errorf("client trace:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantCli, "\n"))
	}
	wantSrv := []string{
		"accept net~shs ok",
		"handshake-start dialing=false net~shs",
		"handshake-done dialing=false net~shs ok conn=true",
		"closed dialing=false net~shs read=1234 written=1234",
	}
	if got := srv.events(); strings.Join(got, "\n") != strings.Join(wantSrv, "\n") {
		t.Errorf("server trace:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSrv, "\n"))
	}
	// The traced conn still unwraps to the shs conn and knows the key.
	if _, ok := c.(*ms.Conn).NetConn().(*shs.Conn); !ok {
		t.Errorf("NetConn() is %T, want *shs.Conn", c.(*ms.Conn).NetConn())
	}
	if ms.RemoteKey(c) == nil {
		t.Error("RemoteKey of a traced conn is nil")
	}
}

// TestTraceFailureReasons: each way a handshake or an accept fails is
// reported with its reason class, on the side that sees it.
func TestTraceFailureReasons(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Run("network-key", func(t *testing.T) {
		srv, cli := newRecorder(), newRecorder()
		ln := listen(t, &ms.ListenConfig{Config: ms.Config{Trace: srv.trace()}}, "net:127.0.0.1:0~shs")
		d := &ms.Dialer{Config: ms.Config{Trace: cli.trace(), AppKey: make([]byte, 32)}}
		d.DialContext(ctx, ln.Addr().String())
		if got := recv(t, srv.done, "server handshake-done").Reason; got != ms.ReasonNetworkKey {
			t.Errorf("server reason %q, want network-key", got)
		}
		if got := recv(t, cli.done, "client handshake-done").Reason; got != ms.ReasonEOF && got != ms.ReasonNetworkKey {
			t.Errorf("client reason %q, want eof or network-key", got)
		}
	})
	t.Run("unauthorized", func(t *testing.T) {
		srv, cli := newRecorder(), newRecorder()
		no := func(context.Context, ed25519.PublicKey) (any, error) { return nil, errors.New("no") }
		ln := listen(t, &ms.ListenConfig{Config: ms.Config{Trace: srv.trace(), Authorize: no}}, "net:127.0.0.1:0~shs")
		d := &ms.Dialer{Config: ms.Config{Trace: cli.trace()}}
		d.DialContext(ctx, ln.Addr().String())
		if got := recv(t, srv.done, "server handshake-done").Reason; got != ms.ReasonUnauthorized {
			t.Errorf("server reason %q, want unauthorized", got)
		}
		if got := recv(t, cli.done, "client handshake-done").Reason; got != ms.ReasonRejected {
			t.Errorf("client reason %q, want rejected", got)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv := newRecorder()
		ln := listen(t, &ms.ListenConfig{Config: ms.Config{Trace: srv.trace()}, HandshakeTimeout: 50 * time.Millisecond}, "net:127.0.0.1:0~shs")
		dialSilent(t, tcpTarget(t, ln), 1)
		if got := recv(t, srv.done, "server handshake-done"); got.Reason != ms.ReasonTimeout || got.Conn != nil {
			t.Errorf("server reason %q, want timeout", got.Reason)
		}
	})
	t.Run("refused-and-over-limit", func(t *testing.T) {
		srv := newRecorder()
		var n int
		var mu sync.Mutex
		lc := &ms.ListenConfig{
			Config:             ms.Config{Trace: srv.trace()},
			MaxHandshakesPerIP: 1,
			Policy: func(ms.Source) error {
				mu.Lock()
				defer mu.Unlock()
				if n++; n == 1 {
					return errors.New("first one refused")
				}
				return nil
			},
		}
		ln := listen(t, lc, "net:127.0.0.1:0~shs")
		for i, want := range []string{ms.ReasonRefused, "", ms.ReasonOverLimit} {
			dialSilent(t, tcpTarget(t, ln), 1)
			if got := recv(t, srv.accept, "accept"); got.Reason != want || (want == "") != (got.Err == nil) {
				t.Errorf("accept %d: reason %q (%v), want %q", i, got.Reason, got.Err, want)
			}
		}
	})
}

func TestFailureReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("x: %w", ms.ErrRefused), ms.ReasonRefused},
		{ms.ErrOverLimit, ms.ReasonOverLimit},
		{fmt.Errorf("%w: %w", ms.ErrHandshake, shs.ErrNetworkKey), ms.ReasonNetworkKey},
		{shs.ErrServerKey, ms.ReasonServerKey},
		{shs.ErrRejected, ms.ReasonRejected},
		{shs.ErrUnauthorized, ms.ReasonUnauthorized},
		{shs.ErrBadMAC, ms.ReasonBadKey},
		{context.DeadlineExceeded, ms.ReasonTimeout},
		{os.ErrDeadlineExceeded, ms.ReasonTimeout},
		{context.Canceled, ms.ReasonCanceled},
		{io.ErrUnexpectedEOF, ms.ReasonEOF},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, ms.ReasonEOF},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, ms.ReasonConnect},
		{errors.New("?"), ms.ReasonOther},
	}
	for _, tt := range tests {
		if got := ms.FailureReason(tt.err); got != tt.want {
			t.Errorf("FailureReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestTracedConnNettest: the byte-counting wrapper is a proper net.Conn.
func TestTracedConnNettest(t *testing.T) {
	tr := &ms.Trace{Closed: func(ms.CloseInfo) {}}
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		ln, err := (&ms.ListenConfig{Config: ms.Config{Trace: tr}}).Listen(context.Background(), "net:127.0.0.1:0~shs")
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		c1, err = (&ms.Dialer{Config: ms.Config{Trace: tr}}).DialContext(context.Background(), ln.Addr().String())
		if err != nil {
			return nil, nil, nil, err
		}
		c2, err = ln.Accept()
		if err != nil {
			c1.Close()
			return nil, nil, nil, err
		}
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}

// TestTraceNoSeed: an invite seed in the dialed address reaches neither
// the policy nor any hook.
func TestTraceNoSeed(t *testing.T) {
	seed := shs.EncodeKey(bytes.Repeat([]byte{0x5e}, 32))
	key := shs.EncodeKey(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	addr := fmt.Sprintf("net:127.0.0.1:%d~shs:%s:%s", freePort(t), key, seed)
	var mu sync.Mutex
	var seen []string
	note := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	d := &ms.Dialer{
		Config: ms.Config{Trace: &ms.Trace{
			DialStart:    func(i ms.DialStartInfo) { note(i.Addr) },
			ConnectStart: func(i ms.ConnectInfo) { note(i.Alt.Addr.String()) },
			ConnectDone:  func(i ms.ConnectInfo) { note(i.Alt.Addr.String()) },
			DialDone:     func(i ms.DialDoneInfo) { note(i.Addr + " " + fmt.Sprint(i.Err)) },
		}},
		Policy: func(a ms.Alternative) error { note(a.Addr.String()); return nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.DialContext(ctx, addr); err == nil {
		t.Fatal("dial to a closed port worked")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 5 {
		t.Fatalf("%d hook calls, want 5: %q", len(seen), seen)
	}
	for _, s := range seen {
		if strings.Contains(s, seed) || strings.Contains(s, seed[:20]) {
			t.Errorf("seed in %q", s)
		}
		if !strings.Contains(s, key) && !strings.Contains(s, strings.Repeat("*", 8)) {
			t.Errorf("%q names neither the key nor a masked seed", s)
		}
	}
}
