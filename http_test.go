package multiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

var (
	httpServerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x53}, 32))
	httpClientKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x43}, 32))
)

// whoami answers with what the server knows about the caller.
func whoami(w http.ResponseWriter, r *http.Request) {
	key := "none"
	if k := ms.RemoteKeyFromContext(r.Context()); k != nil {
		key = base64.StdEncoding.EncodeToString(k)
	}
	fmt.Fprintf(w, "key=%s auth=%v addr=%s", key, ms.AuthFromContext(r.Context()), r.RemoteAddr)
}

// httpServer is an http.Server over an ms listener, shut down at cleanup.
type httpServer struct {
	ln       *ms.Listener
	srv      *http.Server
	newConns atomic.Int64 // conns http.Server got from Accept
	served   chan error   // Serve's result
}

func startHTTP(t *testing.T, lc *ms.ListenConfig, addrs string, h http.Handler, configure ...func(*http.Server)) *httpServer {
	t.Helper()
	ln, err := lc.Listen(context.Background(), addrs)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addrs, err)
	}
	s := &httpServer{ln: ln, served: make(chan error, 1)}
	s.srv = &http.Server{
		Handler:     h,
		ConnContext: ms.ConnContext,
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.newConns.Add(1)
			}
		},
	}
	for _, f := range configure {
		f(s.srv)
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return s
}

// httpClient returns a client reaching addr as http://svc/, counting the
// conns its transport dials.
func httpClient(t *testing.T, d *ms.Dialer, addr string, dials *atomic.Int64) *http.Client {
	t.Helper()
	hosts := ms.Hosts{"svc": addr}
	tr := ms.NewHTTPTransport(d, func(ctx context.Context, hostport string) (string, error) {
		if dials != nil {
			dials.Add(1)
		}
		return hosts.Resolve(ctx, hostport)
	})
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}

// getKeepAlive is get for a response that keeps its conn open (no
// "Connection: close").
func getKeepAlive(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET %s: %s, Close %v: %s; want 200 on a kept conn", url, resp.Status, resp.Close, body)
	}
	return string(body)
}

func httpTempDir(t *testing.T) string {
	// t.TempDir paths can exceed the 104/108-byte sun_path limit.
	d, err := os.MkdirTemp("", "mshttp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// httpStack is a stack the HTTP tests run over. wantKey says whether the
// handler must see the client's key.
type httpStack struct {
	name, listen, remotePrefix string
	wantKey                    bool
}

func httpStacks(t *testing.T) []httpStack {
	dir := httpTempDir(t)
	return []httpStack{
		{"net+noauth", "net:127.0.0.1:0~noauth", "net:127.0.0.1:", false},
		{"unix+noauth", "unix:" + filepath.Join(dir, "h.sock") + "~noauth", "unix:", false},
		{"net+shs", "net:127.0.0.1:0~shs", "net:127.0.0.1:", true},
		{"ws+shs", "ws://127.0.0.1:0~shs", "ws://127.0.0.1:", true},
	}
}

// httpConfig is the Config of both ends of the HTTP tests, with the
// identity given.
func httpConfig(id ed25519.PrivateKey) ms.Config {
	return ms.Config{Identity: id}
}

// skipUnixNoauthOnWindows skips stacks noauth refuses on Windows.
func skipUnixNoauthOnWindows(t *testing.T, listen string) {
	if runtime.GOOS == "windows" && strings.HasPrefix(listen, "unix:") {
		t.Skip("noauth refuses unix peers on Windows, where it cannot tell the peer's user")
	}
}

func TestHTTPOverStacks(t *testing.T) {
	for _, tt := range httpStacks(t) {
		t.Run(tt.name, func(t *testing.T) {
			skipUnixNoauthOnWindows(t, tt.listen)
			lc := &ms.ListenConfig{Config: httpConfig(httpServerKey)}
			s := startHTTP(t, lc, tt.listen, http.HandlerFunc(whoami))
			var dials atomic.Int64
			c := httpClient(t, &ms.Dialer{Config: httpConfig(httpClientKey)}, s.ln.Addr().String(), &dials)
			var conns clientConns
			tr := c.Transport.(*http.Transport)
			dial := tr.DialContext
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return conns.add(c), nil
			}

			body := getKeepAlive(t, c, "http://svc/whoami")
			wantKey := "key=none "
			if tt.wantKey {
				wantKey = "key=" + base64.StdEncoding.EncodeToString(httpClientKey.Public().(ed25519.PublicKey)) + " "
			}
			if !strings.HasPrefix(body, wantKey) {
				t.Errorf("handler saw %q, want it to start with %q", body, wantKey)
			}
			_, addr, _ := strings.Cut(body, " addr=")
			if !strings.HasPrefix(addr, tt.remotePrefix) {
				t.Errorf("Request.RemoteAddr = %q, want prefix %q", addr, tt.remotePrefix)
			}

			// Keep-alive: 99 more sequential requests reuse the conn: the
			// handler sees the same peer unless the client dialed anew.
			who, _, _ := strings.Cut(body, " addr=")
			prev, dialed := body, conns.count()
			for i := range 99 {
				got := getKeepAlive(t, c, fmt.Sprintf("http://svc/whoami?i=%d", i))
				gotWho, gotAddr, _ := strings.Cut(got, " addr=")
				if n := conns.count(); n != dialed {
					dialed = n
				} else if got != prev {
					t.Fatalf("request %d on the same conn: handler saw %q, want %q", i+2, got, prev)
				}
				if gotWho != who || !strings.HasPrefix(gotAddr, tt.remotePrefix) {
					t.Fatalf("request %d: handler saw %q, want %q and an address starting %q", i+2, got, who, tt.remotePrefix)
				}
				prev = got
			}
			// net/http's client does not reuse a conn whose writer
			// goroutine has not reported the request written within 50 ms
			// of the response's end (maxWriteWaitBeforeConnReuse), which
			// load can cause: it closes that conn, healthy, and dials
			// again. Every conn but the last must have ended that way, by
			// the client's Close with no read error before it: a conn that
			// our stack or the server ended would show one.
			n, ends := conns.ended(t, 10*time.Second)
			for i, err := range ends {
				if err != nil {
					t.Errorf("conn %d of %d ended by a read error before the client closed it: %v", i+1, n, err)
				}
			}
			if n > 1 {
				t.Logf("net/http dialed %d conns for 100 sequential requests (it dropped %d healthy ones)", n, n-1)
			}
			if got := s.newConns.Load(); got != int64(n) {
				t.Errorf("100 sequential requests: %d server conns for %d dials, want one each", got, n)
			}
			if got := dials.Load(); got != int64(n) {
				t.Errorf("100 sequential requests: %d dials counted, %d conns made", got, n)
			}
		})
	}
}

// clientConns records the conns an HTTP client dialed and how each ended.
type clientConns struct {
	mu    sync.Mutex
	conns []*clientConn
}

type clientConn struct {
	net.Conn
	mu      sync.Mutex
	readErr error // the first Read error before Close
	closed  chan struct{}
	once    sync.Once
}

func (cs *clientConns) add(c net.Conn) net.Conn {
	cc := &clientConn{Conn: c, closed: make(chan struct{})}
	cs.mu.Lock()
	cs.conns = append(cs.conns, cc)
	cs.mu.Unlock()
	return cc
}

func (cs *clientConns) count() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.conns)
}

func (c *clientConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.mu.Lock()
		select {
		case <-c.closed:
		default:
			if c.readErr == nil {
				c.readErr = err
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *clientConn) Close() error {
	c.mu.Lock()
	c.once.Do(func() { close(c.closed) })
	c.mu.Unlock()
	return c.Conn.Close()
}

// ended waits, at most d, for every conn but the last to be closed, and
// returns the number of conns and, for those, the Read error each had
// before its Close (nil if none).
func (cs *clientConns) ended(t *testing.T, d time.Duration) (int, []error) {
	t.Helper()
	cs.mu.Lock()
	conns := cs.conns
	cs.mu.Unlock()
	if len(conns) == 0 {
		t.Fatal("no conn dialed")
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	var errs []error
	for i, c := range conns[:len(conns)-1] {
		select {
		case <-c.closed:
		case <-timer.C:
			t.Fatalf("conn %d of %d, replaced by a later one, still open after %v", i+1, len(conns), d)
		}
		c.mu.Lock()
		errs = append(errs, c.readErr)
		c.mu.Unlock()
	}
	return len(conns), errs
}

// TestHTTPShutdown checks that Shutdown lets an active request finish,
// then closes the idle conn (the client sees a clean end of stream) and
// the listener, leaving no goroutine behind.
func TestHTTPShutdown(t *testing.T) {
	for _, tt := range httpStacks(t) {
		t.Run(tt.name, func(t *testing.T) {
			skipUnixNoauthOnWindows(t, tt.listen)
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ln, err := (&ms.ListenConfig{Config: httpConfig(httpServerKey)}).Listen(context.Background(), tt.listen)
			if err != nil {
				t.Fatal(err)
			}
			entered, release := make(chan struct{}), make(chan struct{})
			srv := &http.Server{
				ConnContext: ms.ConnContext,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					close(entered)
					<-release
					io.WriteString(w, "done")
				}),
			}
			shutdownStarted := make(chan struct{})
			srv.RegisterOnShutdown(func() { close(shutdownStarted) })
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()

			d := &ms.Dialer{Config: httpConfig(httpClientKey)}
			conn, err := d.DialContext(context.Background(), ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: svc\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			<-entered

			shut := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				shut <- srv.Shutdown(ctx)
			}()
			<-shutdownStarted
			close(release)

			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response to the request in flight: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "done" {
				t.Fatalf("body = %q, %v; want \"done\"", body, err)
			}
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Fatalf("Serve returned %v, want http.ErrServerClosed", err)
			}
			// The server closed the conn once it was idle: a clean end of
			// stream (for shs, the goodbye), not a reset or truncation.
			if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("after Shutdown the client read %d bytes, %v; want 0, io.EOF", n, err)
			}
			if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept after Shutdown: %v, want net.ErrClosed", err)
			}
			if _, err := d.DialContext(context.Background(), ln.Addr().String()); err == nil {
				t.Fatal("Dial after Shutdown succeeded, want the listener closed")
			}
		})
	}
}

func TestHostsResolve(t *testing.T) {
	h := ms.Hosts{
		"api":        "net:127.0.0.1:1~noauth",
		"api:8080":   "net:127.0.0.1:2~noauth",
		"Mixed.Case": "net:127.0.0.1:3~noauth",
		"::1":        "net:127.0.0.1:4~noauth",
	}
	tests := []struct {
		hostport, want string
	}{
		{"api:80", "net:127.0.0.1:1~noauth"},
		{"api:8080", "net:127.0.0.1:2~noauth"},
		{"API:8080", "net:127.0.0.1:2~noauth"},
		{"api", "net:127.0.0.1:1~noauth"},
		{"mixed.case:443", "net:127.0.0.1:3~noauth"},
		{"[::1]:80", "net:127.0.0.1:4~noauth"},
		{"other:80", ""},
		{"apix:80", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := h.Resolve(context.Background(), tt.hostport)
		if tt.want == "" {
			var dnsErr *net.DNSError
			if err == nil || !errors.Is(err, ms.ErrUnknownHost) || !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
				t.Errorf("Resolve(%q) = %q, %v; want a not-found *net.DNSError wrapping ErrUnknownHost", tt.hostport, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.hostport, got, err, tt.want)
		}
	}
}

func TestHTTPClientErrors(t *testing.T) {
	s := startHTTP(t, &ms.ListenConfig{}, "net:127.0.0.1:0~noauth", http.HandlerFunc(whoami))
	tr := ms.NewHTTPTransport(nil, ms.Hosts{
		"svc": s.ln.Addr().String(),
		"bad": "carrier-pigeon:coop~noauth",
	}.Resolve)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if body := get(t, c, "http://svc/"); !strings.HasPrefix(body, "key=none ") {
		t.Fatalf("handler saw %q", body)
	}
	tests := []struct {
		name, url string
		want      error
	}{
		{"unknown host", "http://elsewhere/", ms.ErrUnknownHost},
		{"no known stack", "http://bad/", ms.ErrNoStack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Get(tt.url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s succeeded", tt.url)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("GET %s: %v; want an error wrapping %v", tt.url, err, tt.want)
			}
			t.Logf("GET %s: %v", tt.url, err)
		})
	}
}

// TestHTTP2 runs HTTP/2 with prior knowledge (h2c) over a multiserver
// conn, as NewHTTPTransport's doc suggests: concurrent requests share one
// conn.
func TestHTTP2(t *testing.T) {
	var h2 http.Protocols
	h2.SetUnencryptedHTTP2(true)
	lc := &ms.ListenConfig{Config: httpConfig(httpServerKey)}
	ln, err := lc.Listen(context.Background(), "net:127.0.0.1:0~noauth")
	if err != nil {
		t.Fatal(err)
	}
	var newConns atomic.Int64
	srv := &http.Server{
		Handler:     http.HandlerFunc(whoami),
		ConnContext: ms.ConnContext,
		Protocols:   &h2,
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				newConns.Add(1)
			}
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-served
	}()

	tr := ms.NewHTTPTransport(&ms.Dialer{Config: httpConfig(httpClientKey)}, ms.Hosts{"svc": ln.Addr().String()}.Resolve)
	tr.Protocols = &h2
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	// Warm up so that the concurrent requests find the conn.
	resp, err := c.Get("http://svc/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("response protocol %s, want HTTP/2", resp.Proto)
	}
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			resp, err := c.Get(fmt.Sprintf("http://svc/%d", i))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && !strings.HasPrefix(string(body), "key=") {
				err = fmt.Errorf("body %q", body)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := newConns.Load(); got != 1 {
		t.Errorf("%d concurrent HTTP/2 requests used %d conns, want 1", n+1, got)
	}
}

// TestHTTPAuthorize checks that the value Config.Authorize returns reaches
// the handler through AuthFromContext, and that the HTTP client reports a
// refused handshake and a wrong server key as errors wrapping
// ErrHandshake.
func TestHTTPAuthorize(t *testing.T) {
	type member struct{ name string }
	cfg := httpConfig(httpServerKey)
	cfg.Authorize = func(ctx context.Context, remote ed25519.PublicKey) (any, error) {
		if remote.Equal(httpClientKey.Public().(ed25519.PublicKey)) {
			return member{"carol"}, nil
		}
		return nil, errors.New("not a member")
	}
	s := startHTTP(t, &ms.ListenConfig{Config: cfg}, "net:127.0.0.1:0~shs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, ok := ms.AuthFromContext(r.Context()).(member)
		if !ok {
			http.Error(w, "no member", http.StatusForbidden)
			return
		}
		io.WriteString(w, "hello "+m.name)
	}))
	addr := s.ln.Addr().String()
	if got := get(t, httpClient(t, &ms.Dialer{Config: httpConfig(httpClientKey)}, addr, nil), "http://svc/"); got != "hello carol" {
		t.Errorf("admitted client got %q, want \"hello carol\"", got)
	}

	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x4f}, 32))
	wrongAddr := strings.Replace(addr, base64.StdEncoding.EncodeToString(httpServerKey.Public().(ed25519.PublicKey)),
		base64.StdEncoding.EncodeToString(otherKey.Public().(ed25519.PublicKey)), 1)
	if wrongAddr == addr {
		t.Fatalf("server key not found in %q", addr)
	}
	tests := []struct {
		name string
		id   ed25519.PrivateKey
		addr string
	}{
		{"refused client", otherKey, addr},
		{"wrong server key", httpClientKey, wrongAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := httpClient(t, &ms.Dialer{Config: httpConfig(tt.id)}, tt.addr, nil)
			resp, err := c.Get("http://svc/")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET succeeded with status %s", resp.Status)
			}
			if !errors.Is(err, ms.ErrHandshake) {
				t.Fatalf("GET: %v; want an error wrapping ErrHandshake", err)
			}
			t.Logf("GET: %v", err)
		})
	}
	if n := s.newConns.Load(); n != 1 {
		t.Errorf("http.Server got %d conns, want only the admitted one", n)
	}
}

func TestNewHTTPTransportNilResolver(t *testing.T) {
	tr := ms.NewHTTPTransport(nil, nil)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://svc/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET with a nil resolver succeeded")
	}
	if !errors.Is(err, ms.ErrUnknownHost) {
		t.Fatalf("GET with a nil resolver: %v; want an error wrapping ErrUnknownHost", err)
	}
}

// BenchmarkHTTPRequest measures one GET with a 1 KiB response over a kept
// conn, per stack, next to plain TCP.
func BenchmarkHTTPRequest(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 1024)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(payload) })
	run := func(b *testing.B, ln net.Listener, tr *http.Transport) {
		srv := &http.Server{Handler: h, ConnContext: ms.ConnContext}
		done := make(chan struct{})
		go func() { srv.Serve(ln); close(done) }()
		defer func() { srv.Close(); <-done }()
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Get("http://svc/")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	b.Run("tcp", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var d net.Dialer
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		}}
		run(b, ln, tr)
	})
	for _, stk := range []string{"net:127.0.0.1:0~noauth", "net:127.0.0.1:0~shs", "ws://127.0.0.1:0~shs"} {
		name := strings.NewReplacer("127.0.0.1:0", "", ":", "", "/", "").Replace(stk)
		b.Run(name, func(b *testing.B) {
			ln, err := (&ms.ListenConfig{Config: httpConfig(httpServerKey)}).Listen(context.Background(), stk)
			if err != nil {
				b.Fatal(err)
			}
			tr := ms.NewHTTPTransport(&ms.Dialer{Config: httpConfig(httpClientKey)}, ms.Hosts{"svc": ln.Addr().String()}.Resolve)
			run(b, ln, tr)
		})
	}
}

// TestHTTPReadHeaderTimeout checks that http.Server's deadlines work
// through the stack: a client that finished the handshake but sends no
// request is closed after ReadHeaderTimeout, with a clean end of stream.
func TestHTTPReadHeaderTimeout(t *testing.T) {
	for _, tt := range httpStacks(t) {
		t.Run(tt.name, func(t *testing.T) {
			skipUnixNoauthOnWindows(t, tt.listen)
			s := startHTTP(t, &ms.ListenConfig{Config: httpConfig(httpServerKey)}, tt.listen, http.HandlerFunc(whoami),
				func(srv *http.Server) { srv.ReadHeaderTimeout = 50 * time.Millisecond })
			conn, err := (&ms.Dialer{Config: httpConfig(httpClientKey)}).DialContext(context.Background(), s.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := conn.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("silent client read %d bytes, %v; want the server to close with io.EOF", n, err)
			}
		})
	}
}

// TestHTTPBrowserStyleWS serves a web app the way a browser reaches it:
// the page over plain HTTP and the app's API over ws+shs, on one port.
// The client does what the page's script would: a WebSocket to the page's
// origin (with its Origin header), shs over the binary messages, then
// HTTP requests over the shs stream.
func TestHTTPBrowserStyleWS(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html><script src=app.js></script>")
	})
	cfg := httpConfig(httpServerKey)
	cfg.Transports = []stack.Transport{ws.New(&ws.Options{Handler: page})}
	s := startHTTP(t, &ms.ListenConfig{Config: cfg}, "ws://127.0.0.1:0~shs", http.HandlerFunc(whoami))
	wsPart, _, _ := strings.Cut(s.ln.Addr().String(), "~") // ws://127.0.0.1:PORT
	origin := "http" + strings.TrimPrefix(wsPart, "ws")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The browser loads the page from the same port.
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer hc.Transport.(*http.Transport).CloseIdleConnections()
	if body := get(t, hc, origin+"/"); !strings.Contains(body, "app.js") {
		t.Fatalf("page = %q", body)
	}

	// The page's script opens a WebSocket to its origin and runs shs.
	wsURL := "ws" + strings.TrimPrefix(origin, "http") + "/"
	wc, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		t.Fatalf("WebSocket from the page's origin: %v", err)
	}
	sc := shs.Client(websocket.NetConn(context.Background(), wc, websocket.MessageBinary),
		&shs.Config{Identity: httpClientKey, ServerKey: httpServerKey.Public().(ed25519.PublicKey)})
	defer sc.Close()
	sc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(sc)
	for i := range 3 { // keep-alive: several requests over the one stream
		fmt.Fprintf(sc, "GET /api/%d HTTP/1.1\r\nHost: app\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d over ws+shs: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "key=" + base64.StdEncoding.EncodeToString(httpClientKey.Public().(ed25519.PublicKey)) + " "
		if err != nil || !strings.HasPrefix(string(body), want) {
			t.Fatalf("request %d: handler saw %q, %v; want prefix %q", i, body, err, want)
		}
	}

	// A page from another origin may connect too: the stack is ws~shs,
	// which authenticates by key, not by origin (ws_origin_test.go has
	// the whole policy).
	wc2, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://app.example"}}})
	if err != nil {
		t.Fatalf("WebSocket from another origin to ws~shs: %v", err)
	}
	wc2.CloseNow()
}
