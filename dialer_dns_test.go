package multiserver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/internal/dnstest"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// refusedAddr returns a loopback address nobody listens on any more.
func refusedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// zoneText returns the quoted text of a zone line, strings joined.
func zoneText(t testing.TB, line string) string {
	t.Helper()
	_, rest, ok := strings.Cut(line, " IN TXT ")
	if !ok {
		t.Fatalf("not a TXT zone line: %s", line)
	}
	var b strings.Builder
	for _, s := range strings.Split(rest, `" "`) {
		b.WriteString(strings.Trim(s, `"`))
	}
	return b.String()
}

func TestDialDNS(t *testing.T) {
	serverID, clientID := shsKeys(t)
	key := shs.EncodeKey(serverID.Public().(ed25519.PublicKey))
	otherKey := shs.EncodeKey(clientID.Public().(ed25519.PublicKey))
	ln := listen(t, &ms.ListenConfig{Config: ms.Config{Identity: serverID}}, "net:127.0.0.1:0~shs;ws://127.0.0.1:0~shs")
	echo(t, ln)
	line, err := ln.DNSRecord("peer.example", ms.Device)
	if err != nil {
		t.Fatal(err)
	}
	if want := "_multiserver.peer.example. 300 IN TXT \"" + ln.Addr().String() + "\""; line != want {
		t.Fatalf("DNSRecord:\n got %s\nwant %s", line, want)
	}
	wsOnly := ln.Address(ms.Device)[1].String()
	refused := "net:" + refusedAddr(t) + "~shs:" + key

	srv := dnstest.Start(t)
	srv.Set("_multiserver.peer.example", zoneText(t, line))
	srv.Set("_multiserver.ws.example", refused+";"+wsOnly)
	srv.Set("_multiserver.via.example", "dns:ws.example")
	srv.Set("_multiserver.impostor.example", strings.ReplaceAll(ln.Addr().String(), key, otherKey))
	d := &ms.Dialer{Config: ms.Config{Identity: clientID}, Resolver: srv.Resolver(), FallbackDelay: -1}

	for _, tt := range []struct{ name, addr, stack string }{
		{"pinned", "dns:peer.example~shs:" + key, "net~shs"},
		{"unpinned", "dns:peer.example", "net~shs"},
		{"fallback within a record", "dns:ws.example~shs:" + key, "ws~shs"},
		{"through a second name", "dns:via.example~shs:" + key, "ws~shs"},
		{"failed lookup then a direct alternative", "dns:nxdomain.example;" + wsOnly, "ws~shs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := d.DialContext(ctx, tt.addr)
			if err != nil {
				t.Fatalf("Dial(%q): %v", tt.addr, err)
			}
			defer c.Close()
			if s := c.(*ms.Conn).Stack(); s != tt.stack {
				t.Errorf("dialed over %s; want %s", s, tt.stack)
			}
			roundTrip(t, c, 1000)
		})
	}

	t.Run("pin refuses another key", func(t *testing.T) {
		_, err := d.DialContext(context.Background(), "dns:impostor.example~shs:"+key)
		var de *ms.DialError
		if !errors.As(err, &de) || !errors.Is(err, dnsaddr.ErrPin) {
			t.Fatalf("err %v: want a *DialError wrapping dnsaddr.ErrPin", err)
		}
		if len(de.Lookups) != 1 || !strings.Contains(err.Error(), "looked up TXT _multiserver.impostor.example.: 1 records") {
			t.Errorf("error does not show the lookup: %v", err)
		}
	})
	t.Run("failures name the record they came from", func(t *testing.T) {
		srv.Set("_multiserver.dead.example", refused)
		_, err := d.DialContext(context.Background(), "dns:dead.example")
		var ae *ms.AltError
		if !errors.As(err, &ae) || ae.From != "_multiserver.dead.example." || ae.Index != 0 {
			t.Fatalf("err %v: want an *AltError from the record", err)
		}
		if !strings.Contains(err.Error(), "alternative 1 (net~shs from _multiserver.dead.example.)") {
			t.Errorf("error %q", err)
		}
	})
	t.Run("bad pin fails before any lookup", func(t *testing.T) {
		n := srv.UDPQueries.Load()
		_, err := d.DialContext(context.Background(), "dns:peer.example~shs:AAAA")
		if err == nil || srv.UDPQueries.Load() != n {
			t.Errorf("err %v after %d lookups; want an error and none", err, srv.UDPQueries.Load()-n)
		}
	})
	t.Run("nxdomain", func(t *testing.T) {
		_, err := d.DialContext(context.Background(), "dns:nxdomain.example~shs:"+key)
		var dnsErr *net.DNSError
		if !errors.Is(err, dnsaddr.ErrLookup) || !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("err %v: want a not-found lookup error", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv.Silence("_multiserver.silent.example")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := d.DialContext(ctx, "dns:silent.example~shs:"+key)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("err %v: want a timeout", err)
		}
	})
}

// BenchmarkDialDNS compares a dial through dns: (one TXT lookup on a
// loopback DNS server, then net~shs) with a direct net~shs dial of the
// same listener, next to a raw TCP connect and a TLS 1.3 handshake in the
// same run. Each op dials and closes.
func BenchmarkDialDNS(b *testing.B) {
	serverID, clientID := ed25519.NewKeyFromSeed(make([]byte, 32)), ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	ln, err := (&ms.ListenConfig{Config: ms.Config{Identity: serverID}}).Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		b.Fatal(err)
	}
	defer serveAndClose(ln)()
	key := shs.EncodeKey(serverID.Public().(ed25519.PublicKey))
	srv := dnstest.Start(b)
	srv.Set("_multiserver.bench.example", ln.Addr().String())
	d := &ms.Dialer{Config: ms.Config{Identity: clientID}, Resolver: srv.Resolver()}
	dialMS := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				c, err := d.DialContext(context.Background(), addr)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		}
	}

	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer serveAndClose(tcpLn)()
	tlsLn := tls.NewListener(must(net.Listen("tcp", "127.0.0.1:0")), &tls.Config{Certificates: []tls.Certificate{selfSigned(b, serverID)}, MinVersion: tls.VersionTLS13})
	defer serveAndClose(tlsLn)()

	b.Run("tcp", func(b *testing.B) {
		for b.Loop() {
			c, err := net.Dial("tcp", tcpLn.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("tls13", func(b *testing.B) {
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}
		for b.Loop() {
			c, err := tls.Dial("tcp", tlsLn.Addr().String(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("direct", dialMS(ln.Addr().String()))
	b.Run("dns", dialMS("dns:bench.example~shs:"+key))
	b.Run("lookup", func(b *testing.B) {
		r := srv.Resolver()
		for b.Loop() {
			if _, err := r.LookupTXT(context.Background(), "_multiserver.bench.example."); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// serveAndClose accepts and closes conns (for TLS, after the handshake)
// until the returned func closes ln and waits.
func serveAndClose(ln net.Listener) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*tls.Conn); ok {
				tc.Handshake()
			}
			c.Close()
		}
	}()
	return func() { ln.Close(); <-done }
}

// selfSigned makes an ed25519 certificate for key.
func selfSigned(b *testing.B, key ed25519.PrivateKey) tls.Certificate {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"bench.example"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		b.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestDialDNSTimeoutBoundsLookups checks that Dialer.Timeout bounds the
// lookups of a dns: alternative as it bounds an attempt.
func TestDialDNSTimeoutBoundsLookups(t *testing.T) {
	srv := dnstest.Start(t)
	asked := srv.Silence("_multiserver.silent.example")
	d := &ms.Dialer{Resolver: srv.Resolver(), Timeout: 100 * time.Millisecond}
	_, err := d.DialContext(context.Background(), "dns:silent.example")
	<-asked
	var ne net.Error
	if !errors.Is(err, dnsaddr.ErrLookup) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v: want a lookup timeout", err)
	}
}

func TestDialDNSUnknownPin(t *testing.T) {
	srv := dnstest.Start(t)
	d := &ms.Dialer{Resolver: srv.Resolver()}
	_, err := d.DialContext(context.Background(), "dns:peer.example~carrier:pigeon")
	if !errors.Is(err, ms.ErrNoStack) || !strings.Contains(err.Error(), `"dns~carrier"`) {
		t.Errorf("err %v: want ErrNoStack naming dns~carrier", err)
	}
	if n := srv.UDPQueries.Load(); n != 0 {
		t.Errorf("%d lookups for an address this dialer cannot dial", n)
	}
}
