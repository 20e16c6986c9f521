package ws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/go-multiserver/multiserver/internal/ifaddrs"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// echoOnce copies everything c receives back to it, then closes c.
func echoOnce(c net.Conn) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, c)
		c.Close()
		done <- err
	}()
	return done
}

// roundTrip writes n bytes to c while reading the echo back.
func roundTrip(t *testing.T, c net.Conn, n int) {
	t.Helper()
	msg := make([]byte, n)
	for i := range msg {
		msg[i] = byte(i*7 + i>>13)
	}
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("the echo differs from what was sent")
	}
}

func TestEcho10MiB(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	tests := []struct {
		name           string
		client, server *Transport
	}{
		{"ws", New(nil), New(nil)},
		{"wss", NewSecure(&Options{ClientTLSConfig: cliTLS}), NewSecure(&Options{TLSConfig: srvTLS})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, a := pair(t, tt.client, tt.server)
			done := echoOnce(a)
			roundTrip(t, d, 10<<20)
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("echo ended with %v, want a clean EOF", err)
			}
			if got := d.LocalAddr().Network(); got != tt.name {
				t.Errorf("Network() = %q, want %q", got, tt.name)
			}
		})
	}
}

func TestWSSWithoutCertificate(t *testing.T) {
	s, _ := msaddr.ParseSection("wss://127.0.0.1:0")
	_, err := NewSecure(nil).Listen(context.Background(), s, nil)
	if !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("Listen = %v, want ErrNoCertificate", err)
	}
	_, err = NewSecure(&Options{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"}).Listen(context.Background(), s, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/cert.pem") {
		t.Fatalf("Listen with missing files = %v, want an error naming the file", err)
	}
}

func TestWSSRejectsUnknownCertificate(t *testing.T) {
	srvTLS, _ := selfSigned(t)
	ln := listenT(t, NewSecure(&Options{TLSConfig: srvTLS}), "wss://127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := NewSecure(nil).Dial(ctx, dialEndpoint(t, NewSecure(nil), ln, "/"))
	if err == nil {
		c.Close()
		t.Fatal("Dial trusted a self-signed certificate without being told to")
	}
}

func TestHandlerOnSamePort(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain "+r.URL.Path) })
	tests := []struct {
		name     string
		handler  http.Handler
		wantCode int
		wantBody string
	}{
		{"handler", h, http.StatusOK, "plain /index.html"},
		{"no-handler", nil, http.StatusUpgradeRequired, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(&Options{Handler: tt.handler})
			ln := listenT(t, tr, "ws://127.0.0.1:0")
			client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
			defer client.CloseIdleConnections()
			resp, err := client.Get("http://" + ln.Addr().String() + "/index.html")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || (tt.wantBody != "" && string(body) != tt.wantBody) {
				t.Fatalf("GET = %s %q, want %d %q", resp.Status, body, tt.wantCode, tt.wantBody)
			}
			// The same port still upgrades.
			d, a := pairOn(t, tr, ln, "/")
			done := echoOnce(a)
			roundTrip(t, d, 1000)
			d.Close()
			<-done
		})
	}
}

func TestAnyPathUpgrades(t *testing.T) {
	tr := New(nil)
	ln := listenT(t, tr, "ws://127.0.0.1:0/ignored")
	for _, path := range []string{"/", "/some/path", "/p?x=1&y=2", "/a:b"} {
		t.Run(path, func(t *testing.T) {
			d, a := pairOn(t, tr, ln, path)
			done := echoOnce(a)
			roundTrip(t, d, 4096)
			d.Close()
			<-done
		})
	}
}

func TestScopeBinding(t *testing.T) {
	tests := []struct {
		section string
		scopes  []stack.Scope
		want    string // bound IP; "" means Listen must fail with ErrScope
		ipv6    bool
	}{
		{"ws", nil, "127.0.0.1", false},
		{"ws", []stack.Scope{stack.Device}, "127.0.0.1", false},
		{"ws://:0", []stack.Scope{stack.Device}, "127.0.0.1", false},
		{"ws::0", []stack.Scope{stack.Device}, "127.0.0.1", false},
		{"ws://127.0.0.1:0", []stack.Scope{stack.Device}, "127.0.0.1", false},
		{"ws://[::1]:0", []stack.Scope{stack.Device}, "::1", true},
		{"ws:::1:0", []stack.Scope{stack.Device}, "::1", true},
		{"ws://0.0.0.0:0", []stack.Scope{stack.Device}, "0.0.0.0", false},
		{"ws", []stack.Scope{stack.Device, stack.Public}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.section+"/"+scopesString(tt.scopes), func(t *testing.T) {
			if tt.ipv6 && !nettest.SupportsIPv6() {
				t.Skip("no IPv6 loopback on this machine")
			}
			s, err := msaddr.ParseSection(tt.section)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := New(nil).Listen(context.Background(), s, tt.scopes)
			if tt.want == "" {
				if err == nil {
					ln.Close()
					t.Fatalf("Listen bound %v, want a scope error", ln.Addr())
				}
				if !errors.Is(err, stack.ErrScope) {
					t.Fatalf("Listen = %v, want stack.ErrScope", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ip := ln.Addr().(*net.TCPAddr).AddrPort().Addr().Unmap()
			if ip.String() != tt.want {
				t.Fatalf("bound %v, want %s", ip, tt.want)
			}
		})
	}
}

func TestScopeBindingLocal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("binds 127.0.0.2, which only Linux routes without setup")
	}
	defer ifaddrs.Replace(func(s string) []netip.Addr {
		if stack.Scope(s) == stack.Local {
			return []netip.Addr{netip.MustParseAddr("127.0.0.2")}
		}
		return nil
	})()
	s, _ := msaddr.ParseSection("ws")
	ln, err := New(nil).Listen(context.Background(), s, []stack.Scope{stack.Local})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := ln.Addr().(*net.TCPAddr).IP.String(); got != "127.0.0.2" {
		t.Fatalf("bound %s, want the local-scope address 127.0.0.2", got)
	}
}

func scopesString(s []stack.Scope) string {
	var b []string
	for _, x := range s {
		b = append(b, string(x))
	}
	return strings.Join(b, ",")
}

func TestAdvertise(t *testing.T) {
	srvTLS, _ := selfSigned(t)
	tests := []struct {
		tr      *Transport
		section string
		scope   stack.Scope
		want    string // with PORT for the bound port; "" means nil
	}{
		{New(nil), "ws://127.0.0.1:0", stack.Device, "ws://127.0.0.1:PORT"},
		{New(nil), "ws://127.0.0.1:0", stack.Public, ""},
		{New(nil), "ws://localhost:0", stack.Device, "ws://localhost:PORT"},
		{New(nil), "ws:127.0.0.1:0", stack.Device, "ws://127.0.0.1:PORT"},
		{New(nil), "ws://127.0.0.1:0/path", stack.Device, "ws://127.0.0.1:PORT"},
		{NewSecure(&Options{TLSConfig: srvTLS}), "wss://127.0.0.1:0", stack.Device, "wss://127.0.0.1:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.section+"/"+string(tt.scope), func(t *testing.T) {
			ln := listenT(t, tt.tr, tt.section)
			var got []string
			for _, s := range ln.Advertise(tt.scope) {
				got = append(got, s.String())
			}
			want := []string(nil)
			if tt.want != "" {
				want = []string{strings.Replace(tt.want, "PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), 1)}
			}
			if strings.Join(got, ";") != strings.Join(want, ";") {
				t.Fatalf("Advertise(%s) = %q, want %q", tt.scope, got, want)
			}
		})
	}
}

func TestListenerCloseUnblocksAccept(t *testing.T) {
	ln := listenT(t, New(nil), "ws://127.0.0.1:0")
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	ln.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
}

// Listener.Close leaves the conns Accept returned alone (as a net
// listener does) and closes the upgraded conns Accept has not taken.
func TestListenerCloseLeavesAcceptedConns(t *testing.T) {
	tr := New(nil)
	ln := listenT(t, tr, "ws://127.0.0.1:0")
	d, a := pairOn(t, tr, ln, "/")
	defer d.Close()
	defer a.Close()
	waiting := dialRaw(t, ln.Addr(), "/") // upgraded, never accepted
	ln.Close()
	done := echoOnce(a)
	roundTrip(t, d, 100000)
	d.Close()
	if err := <-done; err != nil {
		t.Fatalf("accepted conn after listener Close: %v", err)
	}
	waiting.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := waiting.readFrame()
	if err != nil || f.opcode != opClose {
		t.Fatalf("unaccepted conn got %#x, %v; want a close frame", f.opcode, err)
	}
}

// Beyond MaxPending upgraded conns waiting for Accept, upgrades get 503
// until Accept takes one.
func TestMaxPending(t *testing.T) {
	tr := New(&Options{MaxPending: 2})
	ln := listenT(t, tr, "ws://127.0.0.1:0")
	dialRaw(t, ln.Addr(), "/")
	dialRaw(t, ln.Addr(), "/")
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third upgrade answered %s, want 503", resp.Status)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A slot is free again (the handler returns its token right after the
	// handoff, so allow it a moment by retrying on 503).
	for i := 0; ; i++ {
		p, status := tryUpgrade(t, ln.Addr())
		if status == http.StatusSwitchingProtocols {
			p.Close()
			break
		}
		if i == 100 {
			t.Fatalf("upgrade after Accept answered %d", status)
		}
		runtime.Gosched()
	}
}

// tryUpgrade is dialRaw that reports the status instead of failing.
func tryUpgrade(t *testing.T, addr net.Addr) (net.Conn, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, resp.StatusCode
	}
	return c, resp.StatusCode
}

// A client that upgrades and then stalls must not hold up others: the
// listener hands conns to Accept as they come.
func TestSilentClientDoesNotBlockOthers(t *testing.T) {
	tr := New(nil)
	ln := listenT(t, tr, "ws://127.0.0.1:0")
	// Half a request, never finished.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	d, a := pairOn(t, tr, ln, "/")
	d.Close()
	a.Close()
}

func TestRemoteAddr(t *testing.T) {
	tests := []struct {
		name   string
		trust  bool
		header []string
		want   string // "" means the TCP peer
	}{
		{"no-header", false, nil, ""},
		{"untrusted-header", false, []string{"X-Forwarded-For: 203.0.113.9"}, ""},
		{"trusted", true, []string{"X-Forwarded-For: 203.0.113.9, 198.51.100.7"}, "ws://198.51.100.7"},
		{"trusted-v6", true, []string{"X-Forwarded-For: 2001:db8::1"}, "ws://[2001:db8::1]"},
		{"trusted-garbage", true, []string{"X-Forwarded-For: not-an-ip"}, ""},
		{"trusted-absent", true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(&Options{TrustForwardedFor: tt.trust})
			ln := listenT(t, tr, "ws://127.0.0.1:0")
			p := dialRaw(t, ln.Addr(), "/", tt.header...)
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			want := tt.want
			if want == "" {
				want = "ws://" + p.LocalAddr().String()
			}
			if got := c.RemoteAddr().String(); got != want {
				t.Fatalf("RemoteAddr = %q, want %q", got, want)
			}
			if got, want := c.LocalAddr().String(), "ws://"+ln.Addr().String(); got != want {
				t.Fatalf("LocalAddr = %q, want %q", got, want)
			}
		})
	}
	// The dialing side reports the real TCP ends too.
	tr := New(nil)
	ln := listenT(t, tr, "ws://127.0.0.1:0")
	d, a := pairOn(t, tr, ln, "/")
	defer d.Close()
	defer a.Close()
	if d.RemoteAddr().String() != a.LocalAddr().String() || d.LocalAddr().String() != a.RemoteAddr().String() {
		t.Fatalf("dialed %v→%v, accepted %v←%v: the ends do not match", d.LocalAddr(), d.RemoteAddr(), a.LocalAddr(), a.RemoteAddr())
	}
}

func TestDialCancelDuringUpgrade(t *testing.T) {
	// A TCP listener that accepts and never answers.
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := tl.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s, _ := msaddr.ParseSection("ws://" + tl.Addr().String())
	ep, err := New(nil).Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(nil).Dial(ctx, ep)
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded against a silent server")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want context.DeadlineExceeded", err)
	}
	tl.Close()
	if c, ok := <-accepted; ok {
		c.Close()
	}
}

// wss from PEM files, as JavaScript's key and cert options.
func TestWSSFromFiles(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c := srvTLS.Certificates[0]
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	d, a := pair(t, NewSecure(&Options{ClientTLSConfig: cliTLS}), NewSecure(&Options{CertFile: cert, KeyFile: key}))
	done := echoOnce(a)
	roundTrip(t, d, 1<<16)
	d.Close()
	<-done
}

// TestHandlerBound: a program's server given Handler.Bound sheds its
// oldest silent conn at MaxHTTPConns, as a ws listener's own does, and
// gets the header bounds.
func TestHandlerBound(t *testing.T) {
	h := New(&Options{MaxHTTPConns: 2}).Handler()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	bl := h.Bound(srv, tl)
	if srv.ReadHeaderTimeout != DefaultReadHeaderTimeout || srv.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Errorf("Bound set ReadHeaderTimeout %v, MaxHeaderBytes %d; want the defaults", srv.ReadHeaderTimeout, srv.MaxHeaderBytes)
	}
	done := make(chan struct{})
	go func() { srv.Serve(bl); close(done) }()
	defer func() { srv.Close(); <-done }()
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", tl.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// The first, silent since it connected, is closed for the third.
	conns[0].SetReadDeadline(time.Now().Add(20 * time.Second)) // a backstop, not the expectation
	if n, err := conns[0].Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("oldest silent conn: read %d, %v; want it closed at MaxHTTPConns", n, err)
	}
	// The newest is served.
	io.WriteString(conns[2], "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	conns[2].SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(conns[2]).ReadString('\n')
	if err != nil || !strings.Contains(line, "426") {
		t.Errorf("newest conn: %q, %v; want a 426 answer", line, err)
	}
}
