package onion

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"
	"golang.org/x/net/proxy"

	"github.com/go-multiserver/multiserver/internal/socks5test"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// startProxy starts a test SOCKS5 server, closed when the test ends.
func startProxy(t *testing.T, cfg socks5test.Config) *socks5test.Server {
	t.Helper()
	s, err := socks5test.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// echoServer starts a loopback echo server standing in for the onion
// service and returns its port.
func echoServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
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
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().(*net.TCPAddr).Port
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func endpointOf(t *testing.T, host string, port int) stack.Endpoint {
	t.Helper()
	s, err := msaddr.ParseSection("onion:" + host + ":" + strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := New(nil).Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// recordingDialer records the addresses the transport dials.
type recordingDialer struct {
	mu    sync.Mutex
	addrs []string
}

func (d *recordingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func TestDialSendsNameUnresolved(t *testing.T) {
	port := echoServer(t)
	px := startProxy(t, socks5test.Config{})
	rd := &recordingDialer{}
	tr := New(&Options{Proxies: []string{px.Addr()}, Forward: rd})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, endpointOf(t, strings.ToUpper(testOnion), port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("onion!"), 100000)
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through the proxy: %v", err)
	}
	reqs := px.Requests()
	if len(reqs) != 1 || reqs[0] != (socks5test.Request{AddrType: 3, Host: testOnion, Port: port}) {
		t.Fatalf("proxy was asked %+v, want one CONNECT for the name %s:%d", reqs, testOnion, port)
	}
	if len(rd.addrs) != 1 || rd.addrs[0] != px.Addr() {
		t.Fatalf("transport dialed %q, want only the proxy %s", rd.addrs, px.Addr())
	}
	want := net.JoinHostPort(testOnion, strconv.Itoa(port))
	if c.RemoteAddr().Network() != "onion" || c.RemoteAddr().String() != want {
		t.Fatalf("RemoteAddr = %s %s, want onion %s", c.RemoteAddr().Network(), c.RemoteAddr(), want)
	}
}

func TestDialAuth(t *testing.T) {
	port := echoServer(t)
	px := startProxy(t, socks5test.Config{})
	tr := New(&Options{Proxies: []string{px.Addr()}, Auth: &proxy.Auth{User: "peer-1", Password: "x"}})
	c, err := tr.Dial(context.Background(), endpointOf(t, testOnion, port))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if reqs := px.Requests(); len(reqs) != 1 || reqs[0].User != "peer-1" {
		t.Fatalf("proxy saw %+v, want user peer-1", reqs)
	}
}

func TestFallback(t *testing.T) {
	port := echoServer(t)
	good := startProxy(t, socks5test.Config{})
	stalled := startProxy(t, socks5test.Config{Stall: socks5test.StallGreeting})
	httpLike := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.0 400 Bad Request\r\n\r\n")
			c.Close()
		}()
		t.Cleanup(func() { ln.Close(); <-done })
		return ln.Addr().String()
	}
	tests := []struct {
		name  string
		first string
	}{
		{"first-port-dead", deadAddr(t)},
		{"first-stalls", stalled.Addr()},
		{"first-not-socks", httpLike()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(&Options{Proxies: []string{tt.first, good.Addr()}, GreetingTimeout: 100 * time.Millisecond})
			c, err := tr.Dial(context.Background(), endpointOf(t, testOnion, port))
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			c.Close()
		})
	}
}

func TestNoProxy(t *testing.T) {
	a, b := deadAddr(t), deadAddr(t)
	tr := New(&Options{Proxies: []string{a, b}})
	_, err := tr.Dial(context.Background(), endpointOf(t, testOnion, 80))
	if !errors.Is(err, ErrNoProxy) {
		t.Fatalf("Dial = %v, want ErrNoProxy", err)
	}
	for _, p := range []string{a, b} {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name the proxy %s", err, p)
		}
	}
}

func TestDefaultProxies(t *testing.T) {
	if got := New(nil).opts.Proxies; strings.Join(got, ",") != "127.0.0.1:9050,127.0.0.1:9150" {
		t.Fatalf("default proxies %q", got)
	}
}

func TestReplyCodes(t *testing.T) {
	tests := []struct {
		code byte
		want error
		text string
	}{
		{0x01, ErrUnreachable, "general SOCKS server failure"},
		{0x02, ErrRefused, "not allowed"},
		{0x03, ErrUnreachable, "network unreachable"},
		{0x04, ErrUnreachable, "host unreachable"},
		{0x05, ErrRefused, "connection refused"},
		{0x06, ErrUnreachable, "TTL expired"},
		{0x07, ErrUnsupported, "command not supported"},
		{0x08, ErrUnsupported, "address type not supported"},
		{0xF0, ErrOnionService, "descriptor can not be found"},
		{0xF1, ErrOnionService, "descriptor is invalid"},
		{0xF2, ErrOnionService, "introduction failed"},
		{0xF3, ErrOnionService, "rendezvous failed"},
		{0xF4, ErrOnionAuth, "missing client authorization"},
		{0xF5, ErrOnionAuth, "wrong client authorization"},
		{0xF6, ErrOnionAddress, "invalid address"},
		{0xF7, ErrOnionService, "introduction timed out"},
		{0x42, ErrReply, "unknown reply code"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(int64(tt.code), 16), func(t *testing.T) {
			px := startProxy(t, socks5test.Config{Reply: tt.code})
			second := startProxy(t, socks5test.Config{})
			tr := New(&Options{Proxies: []string{px.Addr(), second.Addr()}})
			_, err := tr.Dial(context.Background(), endpointOf(t, testOnion, 80))
			var re *ReplyError
			if !errors.As(err, &re) || re.Code != tt.code || !errors.Is(err, ErrReply) || !errors.Is(err, tt.want) {
				t.Fatalf("Dial = %v, want a *ReplyError %#x matching %v", err, tt.code, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) || !strings.Contains(err.Error(), testOnion) {
				t.Fatalf("error %q does not say %q and name the target", err, tt.text)
			}
			if n := len(second.Requests()); n != 0 {
				t.Fatalf("a SOCKS reply is final, yet the second proxy got %d requests", n)
			}
		})
	}
}

func TestCancelWhileProxyStalls(t *testing.T) {
	for _, st := range []struct {
		name  string
		stall socks5test.Stall
	}{{"greeting", socks5test.StallGreeting}, {"reply", socks5test.StallReply}} {
		t.Run(st.name, func(t *testing.T) {
			px := startProxy(t, socks5test.Config{Stall: st.stall})
			second := startProxy(t, socks5test.Config{})
			tr := New(&Options{Proxies: []string{px.Addr(), second.Addr()}})
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				c, err := tr.Dial(ctx, endpointOf(t, testOnion, 80))
				if c != nil {
					c.Close()
				}
				errc <- err
			}()
			// Cancel once the proxy holds the conn at the stall point.
			wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer wcancel()
			wait := px.WaitConn
			if st.stall == socks5test.StallReply {
				wait = px.WaitRequest
			}
			if err := wait(wctx); err != nil {
				t.Fatalf("the proxy never reached the stall point: %v", err)
			}
			cancel()
			start := time.Now()
			var err error
			select {
			case err = <-errc:
			case <-time.After(5 * time.Second):
				t.Fatal("Dial did not return 5 s after cancel")
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("Dial returned %v after cancel, want within 100 ms", d)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Dial = %v, want context.Canceled", err)
			}
			if n := len(second.Requests()); n != 0 {
				t.Fatalf("after cancel the second proxy got %d requests", n)
			}
		})
	}
}

func TestNettestThroughProxy(t *testing.T) {
	px := startProxy(t, socks5test.Config{})
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		tr := New(&Options{Proxies: []string{px.Addr()}})
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() { c, err := ln.Accept(); ch <- res{c, err} }()
		c1, err = tr.Dial(context.Background(), endpointOf(t, testOnion, ln.Addr().(*net.TCPAddr).Port))
		if err != nil {
			ln.Close()
			<-ch
			return nil, nil, nil, err
		}
		r := <-ch
		if r.err != nil {
			c1.Close()
			return nil, nil, nil, r.err
		}
		return c1, r.c, func() { c1.Close(); r.c.Close() }, nil
	})
}

// TestConnectTimeout checks that a proxy that takes the CONNECT request and
// never replies cannot hold Dial past Options.ConnectTimeout, even with a
// context that has no deadline.
func TestConnectTimeout(t *testing.T) {
	px := startProxy(t, socks5test.Config{Stall: socks5test.StallReply})
	tr := New(&Options{Proxies: []string{px.Addr()}, ConnectTimeout: 50 * time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		c, err := tr.Dial(context.Background(), endpointOf(t, testOnion, 80))
		if c != nil {
			c.Close()
		}
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("Dial still blocked 10 s after a 50 ms ConnectTimeout")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, ErrNoProxy) {
		t.Fatalf("Dial = %v, want a timeout wrapped in ErrNoProxy", err)
	}
	if n := len(px.Requests()); n != 1 {
		t.Fatalf("the proxy got %d CONNECT requests, want 1", n)
	}
}
