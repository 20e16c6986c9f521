package shs_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/secure/shs"
	"golang.org/x/net/nettest"
)

var (
	serverKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	clientKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
)

func serverConfig() *shs.Config { return &shs.Config{Identity: serverKey} }

func clientConfig() *shs.Config {
	return &shs.Config{Identity: clientKey, ServerKey: serverKey.Public().(ed25519.PublicKey)}
}

// tcpPair returns two connected loopback TCP conns.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		c1.Close()
		t.Fatal(r.err)
	}
	return c1, r.c
}

type pairFunc func(testing.TB) (net.Conn, net.Conn)

var transports = []struct {
	name string
	pair pairFunc
}{
	{"tcp", tcpPair},
	{"pipe", func(testing.TB) (net.Conn, net.Conn) { return net.Pipe() }},
}

// handshakePair wraps raw conns and completes both handshakes.
func handshakePair(t testing.TB, c1, c2 net.Conn, ccfg, scfg *shs.Config) (*shs.Conn, *shs.Conn) {
	t.Helper()
	cc, sc := shs.Client(c1, ccfg), shs.Server(c2, scfg)
	errc := make(chan error, 1)
	go func() { errc <- sc.Handshake() }()
	cerr := cc.Handshake()
	serr := <-errc
	if cerr != nil || serr != nil {
		cc.Close()
		sc.Close()
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	return cc, sc
}

func TestNetConn(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
				c1, c2 := tr.pair(t)
				cc, sc := handshakePair(t, c1, c2, clientConfig(), serverConfig())
				return cc, sc, func() { cc.Close(); sc.Close() }, nil
			})
		})
	}
}

func TestEchoAndKeys(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			c1, c2 := tr.pair(t)
			scfg := serverConfig()
			scfg.Authorize = func(_ context.Context, k ed25519.PublicKey) (any, error) { return "friend", nil }
			cc, sc := handshakePair(t, c1, c2, clientConfig(), scfg)
			defer cc.Close()
			defer sc.Close()
			if !bytes.Equal(cc.RemoteKey(), serverKey.Public().(ed25519.PublicKey)) {
				t.Error("client RemoteKey is not the server key")
			}
			if !bytes.Equal(sc.RemoteKey(), clientKey.Public().(ed25519.PublicKey)) {
				t.Error("server RemoteKey is not the client key")
			}
			if sc.Auth() != "friend" || cc.Auth() != nil {
				t.Errorf("Auth: server %v, client %v", sc.Auth(), cc.Auth())
			}
			msg := make([]byte, 3*shs.MaxPacketSize+17)
			for i := range msg {
				msg[i] = byte(i * 7)
			}
			go func() {
				io.Copy(sc, sc)
				sc.CloseWrite()
			}()
			go func() {
				cc.Write(msg)
				cc.CloseWrite()
			}()
			got, err := io.ReadAll(cc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("echo mismatch: %d bytes back, want %d", len(got), len(msg))
			}
			if _, err := cc.Write([]byte("x")); !errors.Is(err, shs.ErrWriteClosed) {
				t.Fatalf("Write after CloseWrite: %v", err)
			}
		})
	}
}

func TestCloseSendsGoodbye(t *testing.T) {
	c1, c2 := tcpPair(t)
	cc, sc := handshakePair(t, c1, c2, clientConfig(), serverConfig())
	defer sc.Close()
	if _, err := cc.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sc)
	if err != nil || string(got) != "bye" {
		t.Fatalf("ReadAll = %q, %v; want bye, nil", got, err)
	}
	if _, err := cc.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if _, err := cc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := cc.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNoGoodbyeIsError(t *testing.T) {
	c1, c2 := tcpPair(t)
	cc, sc := handshakePair(t, c1, c2, clientConfig(), serverConfig())
	defer sc.Close()
	cc.Write([]byte("partial"))
	cc.NetConn().Close() // hang up without goodbye
	got, err := io.ReadAll(sc)
	if string(got) != "partial" || !errors.Is(err, shs.ErrNoGoodbye) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAll = %q, %v; want partial, ErrNoGoodbye", got, err)
	}
	cc.Close()
}

func TestHandshakeTimeout(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c2.Close()
	cfg := serverConfig()
	cfg.HandshakeTimeout = 50 * time.Millisecond
	sc := shs.Server(c1, cfg) // the peer never speaks
	err := sc.Handshake()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Handshake = %v, want a timeout", err)
	}
	if _, err := c1.Write([]byte{1}); err == nil {
		t.Fatal("raw conn still open after the handshake timed out")
	}
}

func TestHandshakeContextCancel(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cc := shs.Client(c1, clientConfig())
	errc := make(chan error, 1)
	go func() { errc <- cc.HandshakeContext(ctx) }()
	// The client's hello arrives: the handshake is under way.
	if _, err := io.ReadFull(c2, make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("HandshakeContext = %v, want context.Canceled", err)
	}
	if err := cc.Handshake(); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Handshake = %v, want the first error again", err)
	}
}
