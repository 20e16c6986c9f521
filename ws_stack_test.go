package multiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/socks5test"
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/stack"
)

// wssConfigs returns a listening and a dialing Config whose wss transports
// share a fresh self-signed certificate for 127.0.0.1.
func wssConfigs(t *testing.T) (server, client ms.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv := ws.NewSecure(&ws.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}})
	cli := ws.NewSecure(&ws.Options{ClientTLSConfig: &tls.Config{RootCAs: pool}})
	return ms.Config{Transports: []stack.Transport{srv}}, ms.Config{Transports: []stack.Transport{cli}}
}

// TestWSStackEcho echoes 10 MiB each way over ws and wss with noauth and
// shs, through the root package's Listen and Dial.
func TestWSStackEcho(t *testing.T) {
	wssSrv, wssCli := wssConfigs(t)
	tests := []struct {
		listen, prefix string
		path           string // dialed after the port
		server, client ms.Config
	}{
		{"ws://127.0.0.1:0~noauth", "ws://127.0.0.1:", "", ms.Config{}, ms.Config{}},
		{"ws://127.0.0.1:0~shs", "ws://127.0.0.1:", "", ms.Config{}, ms.Config{}},
		{"ws:127.0.0.1:0~shs", "ws://127.0.0.1:", "/some/path?x=1", ms.Config{}, ms.Config{}},
		{"wss://127.0.0.1:0~noauth", "wss://127.0.0.1:", "", wssSrv, wssCli},
		{"wss://127.0.0.1:0~shs", "wss://127.0.0.1:", "/p", wssSrv, wssCli},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			ln := listen(t, &ms.ListenConfig{Config: tt.server}, tt.listen)
			addr := ln.Addr().String()
			if !strings.HasPrefix(addr, tt.prefix) {
				t.Fatalf("Addr() = %q, want prefix %q", addr, tt.prefix)
			}
			echo(t, ln)
			addr = strings.Replace(addr, "~", tt.path+"~", 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d := &ms.Dialer{Config: tt.client}
			c, err := d.DialContext(ctx, addr)
			if err != nil {
				t.Fatalf("Dial(%q): %v", addr, err)
			}
			defer c.Close()
			if got := c.RemoteAddr().String(); got != addr {
				t.Errorf("RemoteAddr() = %q, want the dialed %q", got, addr)
			}
			roundTrip(t, c, 10<<20)
		})
	}
}

// TestWSStackZeroConfig is the form in the package documentation.
func TestWSStackZeroConfig(t *testing.T) {
	ln, err := ms.Listen("ws://127.0.0.1:0~shs")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, ln)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ms.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, 1<<20)
}

func TestWSNoauthRefusedOnAllInterfaces(t *testing.T) {
	ln, err := ms.Listen("ws://0.0.0.0:0~noauth")
	if err == nil {
		ln.Close()
		t.Fatal("noauth served on a ws listener bound to all interfaces")
	}
	if !errors.Is(err, noauth.ErrRemote) {
		t.Fatalf("Listen = %v, want noauth.ErrRemote", err)
	}
}

func TestOnionListenRefused(t *testing.T) {
	ln, err := ms.Listen("onion:2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion:8008~shs")
	if err == nil {
		ln.Close()
		t.Fatal("Listen on onion succeeded")
	}
	if !errors.Is(err, stack.ErrNotSupported) {
		t.Fatalf("Listen = %v, want stack.ErrNotSupported", err)
	}
}

// TestOnionStack dials onion~shs through a test SOCKS5 proxy that maps the
// onion name to a loopback net~shs listener.
func TestOnionStack(t *testing.T) {
	px, err := socks5test.New(socks5test.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~shs")
	echo(t, ln)
	// net:127.0.0.1:PORT~shs:KEY → onion:NAME.onion:PORT~shs:KEY
	a := ln.Addr().(*ms.Addr).Multi()[0]
	port := a[0].Args[len(a[0].Args)-1]
	const name = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
	dialAddr := "onion:" + name + ":" + port + "~" + a[1].String()
	d := &ms.Dialer{Config: ms.Config{Transports: []stack.Transport{onion.New(&onion.Options{Proxies: []string{px.Addr()}})}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, dialAddr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", dialAddr, err)
	}
	defer c.Close()
	roundTrip(t, c, 1<<20)
	reqs := px.Requests()
	if len(reqs) != 1 || reqs[0].Host != name || strconv.Itoa(reqs[0].Port) != port {
		t.Fatalf("proxy saw %+v, want %s:%s", reqs, name, port)
	}
}

func TestWSStackNettest(t *testing.T) {
	for _, a := range []string{"ws://127.0.0.1:0~noauth", "ws://127.0.0.1:0~shs"} {
		t.Run(a, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				ln, err := ms.Listen(a)
				if err != nil {
					return nil, nil, nil, err
				}
				defer ln.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c1, err = ms.Dial(ctx, ln.Addr().String())
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
		})
	}
}
