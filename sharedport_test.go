package multiserver_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/scheme/ws"
)

// sharedListener listens on net~shs and ws~shs on one loopback port,
// with a plain HTTP handler on the ws stack, echoing every conn. It
// returns the listener, the port and the errors reported to OnError.
func sharedListener(t *testing.T, lc *ms.ListenConfig) (*ms.Listener, int, chan error) {
	t.Helper()
	errs := make(chan error, 1024)
	lc.OnError = func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	lc.Config.Transports = append(lc.Config.Transports, ws.New(&ws.Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "plain HTTP on the shared port")
	})}))
	port := freePort(t)
	ln, err := lc.Listen(context.Background(), fmt.Sprintf("net:127.0.0.1:%d~shs;ws://127.0.0.1:%d~shs", port, port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go echoAccepted(ln)
	return ln, port, errs
}

// TestSharedPort serves net~shs, ws~shs and plain HTTP on one port, all
// at once: a 1 MiB echo each way over each stack, and GETs.
func TestSharedPort(t *testing.T) {
	t.Run("defaults", func(t *testing.T) { sharedPort(t, &ms.ListenConfig{}) })
	// No bound on handshakes: the peek keeps the step bound.
	t.Run("HandshakeTimeout=-1", func(t *testing.T) { sharedPort(t, &ms.ListenConfig{HandshakeTimeout: -1}) })
}

func sharedPort(t *testing.T, lc *ms.ListenConfig) {
	ln, port, _ := sharedListener(t, lc)
	adv := ln.Address(ms.Device)
	if len(adv) != 2 {
		t.Fatalf("advertised %v, want two alternatives", adv)
	}
	for i, want := range []string{fmt.Sprintf("net:127.0.0.1:%d~shs:", port), fmt.Sprintf("ws://127.0.0.1:%d~shs:", port)} {
		if !strings.HasPrefix(adv[i].String(), want) {
			t.Errorf("alternative %d is %s, want %s<key>", i+1, adv[i], want)
		}
	}
	var wg sync.WaitGroup
	for range 2 {
		for _, a := range adv {
			wg.Add(1)
			go func() { defer wg.Done(); echoMiB(t, a.String()) }()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := getBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != 200 || body != "plain HTTP on the shared port" {
				t.Errorf("GET: %d %q", code, body)
			}
		}()
	}
	wg.Wait()
}

// helloUnder returns an shs client hello under appKey.
func helloUnder(appKey []byte) []byte {
	eph := make([]byte, 32)
	rand.Read(eph)
	m := hmac.New(sha512.New, appKey)
	m.Write(eph)
	return append(m.Sum(nil)[:32], eph...)
}

// TestSharedPortRefusals: what is not a hello under the app key, HTTP or
// TLS is closed without a byte of reply and reported; a conn that sends
// too few bytes is closed by the peek deadline. A wrong app key is also
// refused silently on a dedicated port, which the last case checks.
func TestSharedPortRefusals(t *testing.T) {
	otherKey := bytes.Repeat([]byte{7}, 32)
	lc := &ms.ListenConfig{HandshakeStepTimeout: 300 * time.Millisecond}
	ln, port, errs := sharedListener(t, lc)
	tests := []struct {
		name   string
		send   []byte
		reason string
	}{
		{"wrong app key", helloUnder(otherKey), "its first bytes are not an shs hello"},
		{"garbage", bytes.Repeat([]byte{0}, 200), "its first bytes are not an shs hello"},
		{"TLS without wss", append([]byte{0x16, 0x03, 0x01}, make([]byte, 100)...), "its first bytes are not"},
		{"slow first bytes", []byte("GE"), "not enough to tell its stack"},
		{"silent", nil, "sent 0 bytes"},
		{"half a hello", helloUnder(otherKey)[:40], "sent 40 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a backstop, far beyond the peek deadline
			reply, err := io.ReadAll(c)
			if len(reply) != 0 || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %d bytes of reply (%q), %v; want the conn closed without a byte", len(reply), reply, err)
			}
			select {
			case err := <-errs:
				if !errors.Is(err, ms.ErrUnrecognized) || !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("OnError got %v, want ErrUnrecognized saying %q", err, tt.reason)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("nothing reported to OnError")
			}
		})
	}
	// The listener still serves both stacks.
	for _, a := range ln.Address(ms.Device) {
		echoMiB(t, a.String())
	}
	// A client of another network gets no reply from a dedicated port either.
	d := &ms.Dialer{Config: ms.Config{AppKey: otherKey}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c, err := d.DialContext(ctx, ln.Address(ms.Device)[0].String()); err == nil {
		c.Close()
		t.Error("a client with another app key got through")
	}
}

// TestSharedPortConfig: stacks a peek cannot tell apart cannot share.
func TestSharedPortConfig(t *testing.T) {
	port := freePort(t)
	for _, addr := range []string{
		"net:127.0.0.1:%d~noauth;ws://127.0.0.1:%d~noauth",
		"net:127.0.0.1:%d~shs;net:127.0.0.1:%d~noauth",
		"ws://127.0.0.1:%d~shs;ws://127.0.0.1:%d/x~noauth",
	} {
		addr = fmt.Sprintf(addr, port, port)
		ln, err := ms.Listen(addr)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%q) works; want ErrInvalidConfig", addr)
			continue
		}
		if !errors.Is(err, ms.ErrInvalidConfig) {
			t.Errorf("Listen(%q): %v; want ErrInvalidConfig", addr, err)
		}
	}
	// The port is free again after each refusal.
	ln, err := ms.Listen(fmt.Sprintf("net:127.0.0.1:%d~shs;ws://127.0.0.1:%d~shs", port, port))
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

// TestSharedPortWSS: net~shs and wss~shs on one port; a TLS ClientHello
// goes to wss.
func TestSharedPortWSS(t *testing.T) {
	srvCfg, cliCfg := wssConfigs(t)
	port := freePort(t)
	lc := &ms.ListenConfig{Config: srvCfg}
	ln, err := lc.Listen(context.Background(), fmt.Sprintf("net:127.0.0.1:%d~shs;wss://127.0.0.1:%d~shs", port, port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go echoAccepted(ln)
	d := &ms.Dialer{Config: cliCfg}
	for _, a := range ln.Address(ms.Device) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, err := d.DialContext(ctx, a.String())
		cancel()
		if err != nil {
			t.Errorf("%s: %v", a[0], err)
			continue
		}
		msg := []byte("over " + a[0].Name)
		c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%s: echo %q, %v", a[0], got, err)
		}
		c.Close()
	}
}

// TestSharedPortNettest: a net~shs conn served through a shared port is a
// net.Conn like any other.
func TestSharedPortNettest(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		port := freePort(t)
		ln, err := ms.Listen(fmt.Sprintf("net:127.0.0.1:%d~shs;ws://127.0.0.1:%d~shs", port, port))
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c1, err = ms.Dial(ctx, ln.(*ms.Listener).Address(ms.Device)[0].String())
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

// echoAccepted echoes every conn ln accepts, each in its own goroutine,
// until ln is closed.
func echoAccepted(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() { defer c.Close(); io.Copy(c, c) }()
	}
}
