package multiserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/stack"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// helloTransform is a test transform: the client sends "HELO", the server
// reads and checks it. It stands for any handshake that waits for the
// client.
type helloTransform struct{}

// dialSection dials tr at s, parsed by tr.
func dialSection(ctx context.Context, tr stack.Transport, s msaddr.Section) (net.Conn, error) {
	ep, err := tr.Parse(s)
	if err != nil {
		return nil, err
	}
	return tr.Dial(ctx, ep)
}

// sectionEndpoint is the endpoint of the fake plugins of these tests,
// which need nothing but the section.
type sectionEndpoint struct{ s msaddr.Section }

func (e sectionEndpoint) Section() msaddr.Section { return e.s }

func (helloTransform) Name() string { return "hello" }
func (helloTransform) Parse(s msaddr.Section) (stack.Endpoint, error) {
	return sectionEndpoint{msaddr.Section{Name: "hello"}}, nil
}
func (helloTransform) Client(ctx context.Context, c net.Conn, ep stack.Endpoint) (net.Conn, error) {
	_, err := c.Write([]byte("HELO"))
	return c, err
}
func (h helloTransform) Listen(s msaddr.Section, ln stack.Listener) (stack.ServerTransform, error) {
	return h, nil
}
func (helloTransform) Advertise() msaddr.Section { return msaddr.Section{Name: "hello"} }
func (helloTransform) Server(ctx context.Context, c net.Conn) (net.Conn, error) {
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	if string(buf) != "HELO" {
		return nil, fmt.Errorf("bad hello %q", buf)
	}
	return c, nil
}

var helloCfg = ms.Config{Transforms: []stack.Transform{helloTransform{}}}

func listen(t *testing.T, lc *ms.ListenConfig, addrs string) *ms.Listener {
	t.Helper()
	ln, err := lc.Listen(context.Background(), addrs)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addrs, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// echo serves one echo goroutine per accepted conn until ln closes.
func echo(t *testing.T, ln net.Listener) {
	t.Helper()
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done; wg.Wait() })
}

func roundTrip(t *testing.T, c net.Conn, n int) {
	t.Helper()
	msg := bytes.Repeat([]byte("multiserver!"), n/12+1)[:n]
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("echo differs")
	}
}

func shortDir(t *testing.T) string {
	// t.TempDir paths can exceed the 104/108-byte sun_path limit.
	d, err := os.MkdirTemp("", "ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestEcho(t *testing.T) {
	dir := shortDir(t)
	tests := []struct{ name, listen, prefix string }{
		{"net4+noauth", "net:127.0.0.1:0~noauth", "net:127.0.0.1:"},
		{"net6+noauth", "net:::1:0~noauth", "net:::1:"},
		{"net6-bracketed", "net:[::1]:0~noauth", "net:::1:"},
		{"unix+noauth", "unix:" + filepath.Join(dir, "s.sock") + "~noauth", "unix:" + dir},
		{"net4+hello", "net:127.0.0.1:0~hello", "net:127.0.0.1:"},
		{"net-default-host", "net::0~noauth", "net:127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.listen, "::1") && !nettest.SupportsIPv6() {
				t.Skip("no IPv6 loopback on this machine")
			}
			lc := &ms.ListenConfig{Config: helloCfg}
			ln := listen(t, lc, tt.listen)
			addr := ln.Addr().String()
			if !strings.HasPrefix(addr, tt.prefix) {
				t.Fatalf("Addr() = %q, want prefix %q", addr, tt.prefix)
			}
			echo(t, ln)
			d := &ms.Dialer{Config: helloCfg}
			c, err := d.DialContext(context.Background(), addr)
			if err != nil {
				t.Fatalf("Dial(%q): %v", addr, err)
			}
			defer c.Close()
			if got := c.RemoteAddr().String(); got != addr {
				t.Errorf("RemoteAddr() = %q, want the dialed %q", got, addr)
			}
			if _, err := msaddr.Parse(c.LocalAddr().String()); err != nil {
				t.Errorf("LocalAddr() %q does not parse: %v", c.LocalAddr(), err)
			}
			for _, n := range []int{1, 1000, 1 << 20} {
				roundTrip(t, c, n)
			}
		})
	}
}

func TestAcceptedConnAddrs(t *testing.T) {
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~noauth")
	c, err := ms.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	want := "net:" + c.(*ms.Conn).NetConn().LocalAddr().String() + "~noauth"
	if got := sc.RemoteAddr().String(); got != want {
		t.Errorf("server RemoteAddr = %q, want %q", got, want)
	}
	if got, want := sc.LocalAddr().String(), ln.Addr().String(); got != want {
		t.Errorf("server LocalAddr = %q, want %q", got, want)
	}
	if k := ms.RemoteKey(sc); k != nil {
		t.Errorf("noauth RemoteKey = %x, want nil", k)
	}
	if got := sc.(*ms.Conn).Stack(); got != "net~noauth" {
		t.Errorf("Stack() = %q", got)
	}
}

func TestSeveralStacks(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "s")
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~noauth;unix:"+sock+"~noauth")
	m := ln.Addr().(*ms.Addr).Multi()
	if len(m) != 2 || m[0][0].Name != "net" || m[1][0].Name != "unix" {
		t.Fatalf("Addr() = %v, want a net and a unix alternative", m)
	}
	echo(t, ln)
	for _, a := range m {
		c, err := ms.Dial(context.Background(), a.String())
		if err != nil {
			t.Fatalf("Dial(%q): %v", a, err)
		}
		roundTrip(t, c, 100)
		c.Close()
	}
	if got := ln.Address(ms.Public); len(got) != 0 {
		t.Errorf("Address(public) = %v, want empty (device-scoped listener)", got)
	}
}

func TestFallbackToSecondAlternative(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().(*net.TCPAddr)
	dead.Close() // nothing listens here now: connection refused
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~noauth")
	echo(t, ln)
	addr := fmt.Sprintf("fake:peer.ignore~nul:what;net:127.0.0.1:%d~noauth;%s", deadAddr.Port, ln.Addr())
	for _, delay := range []time.Duration{0, -1, time.Hour} {
		d := &ms.Dialer{FallbackDelay: delay}
		c, err := d.DialContext(context.Background(), addr)
		if err != nil {
			t.Fatalf("FallbackDelay %v: Dial: %v", delay, err)
		}
		if got := c.RemoteAddr().String(); got != ln.Addr().String() {
			t.Errorf("FallbackDelay %v: connected to %q, want the second alternative %q", delay, got, ln.Addr())
		}
		roundTrip(t, c, 10)
		c.Close()
	}
}

// hangTransport's Dial blocks until its ctx is done.
type hangTransport struct{ started chan struct{} }

func (hangTransport) Name() string { return "hang" }
func (hangTransport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	return sectionEndpoint{s}, nil
}
func (h hangTransport) Dial(ctx context.Context, ep stack.Endpoint) (net.Conn, error) {
	h.started <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}
func (hangTransport) Listen(context.Context, msaddr.Section, []stack.Scope) (stack.Listener, error) {
	return nil, stack.ErrNotSupported
}
func (hangTransport) Section(net.Addr) (msaddr.Section, bool) { return msaddr.Section{}, false }

func TestDialCancel(t *testing.T) {
	// A server that accepts TCP and never finishes the handshake, and a
	// transport that never connects: both must stop at once on cancel.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	h := hangTransport{started: make(chan struct{}, 2)}
	d := &ms.Dialer{Config: ms.Config{Transports: []stack.Transport{h}, Transforms: []stack.Transform{helloTransform{}, &readFirst{}}}}
	addr := fmt.Sprintf("hang:x;net:%s~readfirst", silent.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := d.DialContext(ctx, addr); errc <- err }()
	<-h.started
	accepted, err := silent.Accept() // the second alternative is in its handshake
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	start := time.Now()
	cancel()
	err = <-errc
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Errorf("Dial returned %v after cancel, want within 100ms", el)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// readFirst is a client transform that waits for the server to speak.
type readFirst struct{}

func (*readFirst) Name() string { return "readfirst" }
func (*readFirst) Parse(s msaddr.Section) (stack.Endpoint, error) {
	return sectionEndpoint{msaddr.Section{Name: "readfirst"}}, nil
}
func (*readFirst) Client(ctx context.Context, c net.Conn, ep stack.Endpoint) (net.Conn, error) {
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return c, nil
}
func (*readFirst) Listen(msaddr.Section, stack.Listener) (stack.ServerTransform, error) {
	return nil, stack.ErrNotSupported
}

func TestDialErrors(t *testing.T) {
	_, err := ms.Dial(context.Background(), "fake:x~nul:y;bt:AABBCC")
	if !errors.Is(err, ms.ErrNoStack) {
		t.Fatalf("err = %v, want ErrNoStack", err)
	}
	for _, name := range []string{"net", "unix", "noauth"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("ErrNoStack message %q does not list %q", err, name)
		}
	}
	_, err = ms.Dial(context.Background(), "net:h:1~~")
	if !errors.Is(err, msaddr.ErrSyntax) {
		t.Errorf("err = %v, want msaddr.ErrSyntax", err)
	}
	// Two failing alternatives: one bad section, one refused.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	port := dead.Addr().(*net.TCPAddr).Port
	dead.Close()
	_, err = ms.Dial(context.Background(), fmt.Sprintf("net:h:99999~noauth;net:127.0.0.1:%d~noauth", port))
	var de *ms.DialError
	if !errors.As(err, &de) || len(de.Errs) != 2 {
		t.Fatalf("err = %v, want a DialError with 2 errors", err)
	}
	if !errors.Is(err, stack.ErrAddress) {
		t.Errorf("err does not wrap stack.ErrAddress: %v", err)
	}
	var ae *ms.AltError
	if !errors.As(de.Errs[1], &ae) || ae.Index != 1 {
		t.Errorf("second error = %v, want an AltError for alternative 1", de.Errs[1])
	}
	if !strings.Contains(err.Error(), "alternative 1") || !strings.Contains(err.Error(), "alternative 2") {
		t.Errorf("message does not name both alternatives: %v", err)
	}
}

func TestCloseUnblocksAccept(t *testing.T) {
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~noauth;unix:"+filepath.Join(shortDir(t), "s")+"~noauth")
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	ln.Close()
	err := <-errc
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Accept after Close = %v", err)
	}
}

func TestPortZeroPicksDistinctPorts(t *testing.T) {
	a := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~noauth")
	b := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~noauth")
	if a.Addr().String() == b.Addr().String() || strings.HasSuffix(a.Addr().String(), ":0~noauth") {
		t.Fatalf("port 0 gave %s and %s", a.Addr(), b.Addr())
	}
}

func TestUnixStaleAndLive(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "sub", "s.sock")
	// A stale file: a unix listener that forgot to unlink (as after SIGKILL).
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	ln := listen(t, &ms.ListenConfig{}, "unix:"+sock+"~noauth")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket mode %v, want 0600", perm)
	}
	// A live socket is not stolen.
	_, err = (&ms.ListenConfig{}).Listen(context.Background(), "unix:"+sock+"~noauth")
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Listen on a live socket: %v, want in-use error", err)
	}
	echo(t, ln)
	c, err := ms.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, 10)
	c.Close()
	// A new parent directory is private.
	di, err := os.Stat(filepath.Dir(sock))
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("created dir mode %v, want 0700", perm)
	}
}

func TestNoauthRefusedOnAllInterfaces(t *testing.T) {
	for _, a := range []string{"net:0.0.0.0:0~noauth", "net::::0~noauth"} {
		_, err := (&ms.ListenConfig{}).Listen(context.Background(), a)
		if !errors.Is(err, noauth.ErrRemote) {
			t.Errorf("Listen(%q) = %v, want noauth.ErrRemote", a, err)
		}
	}
	lc := &ms.ListenConfig{Config: ms.Config{Transforms: []stack.Transform{noauth.New(&noauth.Options{AllowRemote: true})}}}
	ln, err := lc.Listen(context.Background(), "net:0.0.0.0:0~noauth")
	if err != nil {
		t.Fatalf("AllowRemote: %v", err)
	}
	ln.Close()
}

func TestListenErrors(t *testing.T) {
	tests := []struct {
		addr string
		is   error
	}{
		{"bogus:x~noauth", ms.ErrNoStack},
		{"net:127.0.0.1:0~bogus", ms.ErrNoStack},
		{"net:127.0.0.1:x~noauth", stack.ErrAddress},
		{"net:127.0.0.1:0~noauth;net:0.0.0.0:0~noauth", noauth.ErrRemote},
		{"net:h:1;;", msaddr.ErrSyntax},
	}
	for _, tt := range tests {
		_, err := (&ms.ListenConfig{}).Listen(context.Background(), tt.addr)
		if !errors.Is(err, tt.is) {
			t.Errorf("Listen(%q) = %v, want %v", tt.addr, err, tt.is)
		}
	}
	_, err := (&ms.ListenConfig{Scopes: []ms.Scope{ms.Public}}).Listen(context.Background(), "unix:/tmp/x~noauth")
	if !errors.Is(err, stack.ErrScope) {
		t.Errorf("unix in public scope: %v, want ErrScope", err)
	}
	_, err = (&ms.ListenConfig{Scopes: []ms.Scope{"galaxy"}}).Listen(context.Background(), "net:127.0.0.1:0")
	if !errors.Is(err, stack.ErrScope) {
		t.Errorf("unknown scope: %v, want ErrScope", err)
	}
}

func TestSilentClientDoesNotBlockAccept(t *testing.T) {
	hsErrs := make(chan error, 100)
	lc := &ms.ListenConfig{Config: helloCfg, HandshakeTimeout: time.Minute, OnError: func(err error) { hsErrs <- err }}
	ln := listen(t, lc, "net:127.0.0.1:0~hello")
	tcpAddr := strings.TrimSuffix(strings.TrimPrefix(ln.Addr().String(), "net:"), "~hello")
	for range 20 {
		c, err := net.Dial("tcp", tcpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// One more that sends garbage: its failed handshake must not surface.
	bad, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.Write([]byte("GARB"))
	d := &ms.Dialer{Config: helloCfg}
	c, err := d.DialContext(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept() // must be the good client, not blocked by the silent ones
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if sc.RemoteAddr().String() != "net:"+c.(*ms.Conn).NetConn().LocalAddr().String()+"~hello" {
		t.Errorf("accepted %v, want the good client %v", sc.RemoteAddr(), c.LocalAddr())
	}
	sc.Close()
	e := <-hsErrs // the garbage client, reported and not accepted
	if !errors.Is(e, ms.ErrHandshake) || !strings.Contains(e.Error(), "bad hello") {
		t.Errorf("OnError got %v, want the garbage client's ErrHandshake", e)
	}
	select {
	case e := <-hsErrs:
		t.Errorf("unexpected second handshake error while silent clients wait: %v", e)
	default:
	}
}

func TestHandshakeTimeout(t *testing.T) {
	errc := make(chan error, 1)
	lc := &ms.ListenConfig{Config: helloCfg, HandshakeTimeout: 50 * time.Millisecond, OnError: func(err error) { errc <- err }}
	ln := listen(t, lc, "net:127.0.0.1:0~hello")
	tcpAddr := strings.TrimSuffix(strings.TrimPrefix(ln.Addr().String(), "net:"), "~hello")
	c, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := <-errc; !errors.Is(err, ms.ErrHandshake) {
		t.Fatalf("OnError: %v", err)
	}
	// The server closed the silent conn.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent client read %v, want EOF (closed by the server)", err)
	}
}

func TestNetConnConformance(t *testing.T) {
	dir := shortDir(t)
	for _, a := range []string{"net:127.0.0.1:0~noauth", "unix:" + filepath.Join(dir, "nt") + "~noauth", "net:127.0.0.1:0~hello", "net:127.0.0.1:0~shs", "net:::1:0~shs", "unix:" + filepath.Join(dir, "ns") + "~shs"} {
		t.Run(a, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				lc := &ms.ListenConfig{Config: helloCfg}
				ln, err := lc.Listen(context.Background(), a)
				if err != nil {
					return nil, nil, nil, err
				}
				d := &ms.Dialer{Config: helloCfg}
				c1, err = d.DialContext(context.Background(), ln.Addr().String())
				if err != nil {
					ln.Close()
					return nil, nil, nil, err
				}
				c2, err = ln.Accept()
				ln.Close()
				if err != nil {
					c1.Close()
					return nil, nil, nil, err
				}
				return c1, c2, func() { c1.Close(); c2.Close() }, nil
			})
		})
	}
}
