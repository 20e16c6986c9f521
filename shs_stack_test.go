package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
)

func shsKeys(t *testing.T) (server, client ed25519.PrivateKey) {
	t.Helper()
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x51}, 32)), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x52}, 32))
}

func TestSHSStackEcho(t *testing.T) {
	serverID, clientID := shsKeys(t)
	serverPub, clientPub := serverID.Public().(ed25519.PublicKey), clientID.Public().(ed25519.PublicKey)
	authorized := make(chan ed25519.PublicKey, 1)
	lc := &ms.ListenConfig{Config: ms.Config{
		Identity: serverID,
		Authorize: func(_ context.Context, k ed25519.PublicKey) (any, error) {
			authorized <- k
			return "welcome", nil
		},
	}}
	ln := listen(t, lc, "net:127.0.0.1:0~shs")
	addr := ln.Addr().String()
	if want := "~shs:" + shs.EncodeKey(serverPub); !strings.HasSuffix(addr, want) {
		t.Fatalf("listener address %q does not end in %q", addr, want)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := &ms.Dialer{Config: ms.Config{Identity: clientID}}
	c, err := d.DialContext(ctx, addr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	defer c.Close()
	sc, ok := <-accepted
	if !ok {
		t.Fatal("Accept failed")
	}
	defer sc.Close()
	if k := ms.RemoteKey(c); !bytes.Equal(k, serverPub) {
		t.Errorf("client sees remote key %x, want the server's", k)
	}
	if k := ms.RemoteKey(sc); !bytes.Equal(k, clientPub) {
		t.Errorf("server sees remote key %x, want the client's", k)
	}
	if k := <-authorized; !bytes.Equal(k, clientPub) {
		t.Errorf("Authorize saw %x", k)
	}
	if a := ms.Auth(sc); a != "welcome" {
		t.Errorf("server Auth = %v, want welcome", a)
	}
	if !strings.Contains(sc.RemoteAddr().String(), "~shs:"+shs.EncodeKey(clientPub)) {
		t.Errorf("server RemoteAddr %v lacks the client key", sc.RemoteAddr())
	}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := sc.Read(buf)
			if n > 0 {
				sc.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	roundTrip(t, c, 100_000)
}

// A plain Dial with a zero Config gets a fresh identity and still works.
func TestSHSStackZeroConfigDial(t *testing.T) {
	ln, err := ms.Listen("net:127.0.0.1:0~shs")
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
	if ms.RemoteKey(c) == nil {
		t.Error("no remote key on an shs conn")
	}
	roundTrip(t, c, 5000)
}

func TestSHSWrongKeyFails(t *testing.T) {
	serverID, _ := shsKeys(t)
	ln := listen(t, &ms.ListenConfig{Config: ms.Config{Identity: serverID}}, "net:127.0.0.1:0~shs")
	echo(t, ln)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x53}, 32)).Public().(ed25519.PublicKey)
	tcp := strings.SplitN(ln.Addr().String(), "~", 2)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := ms.Dial(ctx, tcp+"~shs:"+shs.EncodeKey(other))
	if !errors.Is(err, shs.ErrRejected) {
		t.Fatalf("dial with the wrong server key: %v, want shs.ErrRejected", err)
	}
}

func TestSHSSilentClientDoesNotBlockAccept(t *testing.T) {
	hsErrs := make(chan error, 100)
	serverID, _ := shsKeys(t)
	lc := &ms.ListenConfig{Config: ms.Config{Identity: serverID}, HandshakeTimeout: time.Minute, OnError: func(err error) { hsErrs <- err }}
	ln := listen(t, lc, "net:127.0.0.1:0~shs")
	tcpAddr := strings.TrimPrefix(strings.SplitN(ln.Addr().String(), "~", 2)[0], "net:")
	for range 20 {
		c, err := net.Dial("tcp", tcpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// One more that sends a bad hello: its failed handshake must not surface.
	bad, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.Write(make([]byte, 64))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ms.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept() // must be the good client, not blocked by the silent ones
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	defer sc.Close()
	client := c.(*ms.Conn).NetConn().(*shs.Conn)
	if k := ms.RemoteKey(sc); k == nil || !bytes.Equal(k, client.LocalKey()) {
		t.Errorf("accepted conn's remote key %x, want the good client's %x", k, client.LocalKey())
	}
	if got, want := sc.RemoteAddr().String(), client.LocalSection().String(); !strings.HasSuffix(got, want) {
		t.Errorf("accepted %v, want the good client (%v)", got, want)
	}
	e := <-hsErrs // the bad client, reported and not accepted
	if !errors.Is(e, ms.ErrHandshake) || !errors.Is(e, shs.ErrNetworkKey) {
		t.Errorf("OnError got %v, want ErrHandshake wrapping shs.ErrNetworkKey", e)
	}
	select {
	case e := <-hsErrs:
		t.Errorf("unexpected second handshake error while silent clients wait: %v", e)
	default:
	}
}
