package multiserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/stack"
)

// wsSection returns the ws section ln advertises, and its host:port.
func wsSection(t *testing.T, ln *ms.Listener) (msaddr.Section, string) {
	t.Helper()
	for _, a := range ln.Address(ms.Device) {
		if a[0].Name == "ws" {
			u, err := url.Parse(a[0].String())
			if err != nil {
				t.Fatal(err)
			}
			return a[0], u.Host
		}
	}
	t.Fatalf("no ws alternative in %s", ln.Addr())
	return msaddr.Section{}, ""
}

// dialHello dials ln's ws~hello alternative with d, within 10 s.
func dialHello(t *testing.T, d *ms.Dialer, ln *ms.Listener) (net.Conn, error) {
	t.Helper()
	for _, a := range ln.Address(ms.Device) {
		if a[0].Name == "ws" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return d.DialContext(ctx, a.String())
		}
	}
	t.Fatalf("no ws alternative in %s", ln.Addr())
	return nil, nil
}

// httpGet sends a GET on c, a conn kept alive, and reads the answer.
func httpGet(c net.Conn, br *bufio.Reader) (int, string, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestGateWSHTTPPhase: a ws conn holds a handshake slot and its source's
// count from its TCP accept, so conns in the HTTP phase are shed like
// stalled handshakes and limited per source; a plain HTTP request gives
// its slot back.
func TestGateWSHTTPPhase(t *testing.T) {
	t.Run("silent conns shed for a newcomer", func(t *testing.T) {
		errs := newErrLog(100)
		lc := &ms.ListenConfig{Config: helloCfg, MaxHandshakes: 2, OnError: errs.add}
		ln := listen(t, lc, "ws://127.0.0.1:0~hello")
		_, hostport := wsSection(t, ln)
		silent := dialSilent(t, hostport, 2)
		// The kernel's queue and the HTTP server take conns in order:
		// both silent conns hold a slot before the client's comes.
		c, err := dialHello(t, &ms.Dialer{Config: helloCfg}, ln)
		if err != nil {
			t.Fatalf("client next to 2 silent conns holding both slots: %v", err)
		}
		defer c.Close()
		sc, err := acceptWithin(ln, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sc.Close()
		expectClosedByPeer(t, silent[0], "the oldest silent conn")
		errs.wait(t, 1, 10*time.Second)
		if err := errs.all()[0]; !errors.Is(err, ms.ErrShed) || !strings.Contains(err.Error(), "ws~hello") {
			t.Errorf("OnError: %v, want ErrShed naming the stack", err)
		}
		// The other one is still served.
		if code, _, err := httpGet(silent[1], bufio.NewReader(silent[1])); err != nil || code != http.StatusUpgradeRequired {
			t.Errorf("the younger silent conn: GET: %d, %v; want 426", code, err)
		}
	})

	t.Run("per source", func(t *testing.T) {
		other := secondLoopback(t)
		errs := newErrLog(100)
		lc := &ms.ListenConfig{Config: helloCfg, MaxHandshakesPerIP: 2, OnError: errs.add}
		ln := listen(t, lc, "ws://127.0.0.1:0~hello")
		_, hostport := wsSection(t, ln)
		dialSilent(t, hostport, 2)
		extra := dialSilent(t, hostport, 3)
		for i, c := range extra {
			expectClosedByPeer(t, c, fmt.Sprintf("HTTP-phase conn %d over the per-IP limit", i))
		}
		errs.wait(t, len(extra), 10*time.Second)
		for _, err := range errs.all() {
			if !errors.Is(err, ms.ErrOverLimit) || !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "ws~hello") {
				t.Errorf("OnError: %v, want ErrOverLimit naming the stack and the source", err)
			}
		}
		if c, err := dialHello(t, &ms.Dialer{Config: helloCfg}, ln); err == nil {
			c.Close()
			t.Error("a ws client from the source at its limit got through")
		}
		nd := &net.Dialer{LocalAddr: other, Timeout: 10 * time.Second}
		d := &ms.Dialer{Config: ms.Config{
			Transforms: helloCfg.Transforms,
			Transports: []stack.Transport{ws.New(&ws.Options{DialContext: nd.DialContext})},
		}}
		c, err := dialHello(t, d, ln)
		if err != nil {
			t.Fatalf("a client from another source: %v", err)
		}
		defer c.Close()
		sc, err := acceptWithin(ln, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sc.Close()
	})

	t.Run("a refused upgrade waits for its peer again", func(t *testing.T) {
		// A long step deadline: a conn left as the server's turn would
		// hold the only slot, unshed, for a minute.
		lc := &ms.ListenConfig{Config: helloCfg, MaxHandshakes: 1, HandshakeStepTimeout: time.Minute}
		ln := listen(t, lc, "ws://127.0.0.1:0~hello")
		_, hostport := wsSection(t, ln)
		bad := dialSilent(t, hostport, 1)[0]
		// ws~hello authenticates no peer, so pages of other origins are
		// refused.
		fmt.Fprintf(bad, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://elsewhere.example\r\n\r\n", hostport)
		bad.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(bad), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("upgrade from another origin: %s, want 403", resp.Status)
		}
		c, err := dialHello(t, &ms.Dialer{Config: helloCfg}, ln)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sc, err := acceptWithin(ln, 10*time.Second)
		if err != nil {
			t.Fatalf("a client next to a refused conn holding the only slot: %v", err)
		}
		sc.Close()
		expectClosedByPeer(t, bad, "the refused conn, shed for the client")
	})

	t.Run("plain HTTP gives its slot back", func(t *testing.T) {
		tr := ws.New(&ws.Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "plain")
		})})
		lc := &ms.ListenConfig{Config: ms.Config{Transforms: helloCfg.Transforms, Transports: []stack.Transport{tr}}, MaxHandshakes: 1}
		ln := listen(t, lc, "ws://127.0.0.1:0~hello")
		_, hostport := wsSection(t, ln)
		web := dialSilent(t, hostport, 1)[0]
		br := bufio.NewReader(web)
		if code, body, err := httpGet(web, br); err != nil || code != 200 || body != "plain" {
			t.Fatalf("GET: %d %q %v", code, body, err)
		}
		// Had web kept the only slot, the client would shed it.
		c, err := dialHello(t, &ms.Dialer{Config: helloCfg}, ln)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sc, err := acceptWithin(ln, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sc.Close()
		if code, body, err := httpGet(web, br); err != nil || code != 200 || body != "plain" {
			t.Errorf("second GET on the kept-alive conn: %d %q %v", code, body, err)
		}
	})
}

// TestGateSharedPort: a shared port's conn takes its slot for the peek
// and keeps that one through the ws HTTP phase and the handshake, rather
// than hold a second one.
func TestGateSharedPort(t *testing.T) {
	port := freePort(t)
	lc := &ms.ListenConfig{Config: helloCfg, MaxHandshakes: 2}
	// The net stack's shs recognises its clients' hellos; ws~hello is
	// the stack under test.
	ln := listen(t, lc, fmt.Sprintf("net:127.0.0.1:%d~shs;ws://127.0.0.1:%d~hello", port, port))
	sec, _ := wsSection(t, ln)
	// Upgraded, then silent: the 101 came, so the conn went through the
	// peek and the ws gate.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up, err := dialSection(ctx, ws.New(nil), sec)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	// Counted twice, the upgraded conn would hold both slots and be shed
	// for this client.
	c, err := dialHello(t, &ms.Dialer{Config: helloCfg}, ln)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := acceptWithin(ln, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sc.Close()
	if _, err := up.Write([]byte("HELO")); err != nil {
		t.Fatal(err)
	}
	sc, err = acceptWithin(ln, 10*time.Second)
	if err != nil {
		t.Fatalf("the upgraded conn, after its hello: %v", err)
	}
	sc.Close()
}

// secondLoopback returns 127.0.0.2 to dial from, or skips.
func secondLoopback(t *testing.T) *net.TCPAddr {
	t.Helper()
	if c, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("cannot use a second loopback address (127.0.0.2) on this system: %v", err)
	} else {
		c.Close()
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
}

// TestGateTrustForwardedFor: behind a proxy (ws TrustForwardedFor), the
// TCP peer is the proxy and is not counted per source; each conn counts
// against its forwarded source from the upgrade on.
func TestGateTrustForwardedFor(t *testing.T) {
	errs := newErrLog(100)
	tr := ws.New(&ws.Options{TrustForwardedFor: true})
	// The forwarded source is counted when the listener takes the
	// upgraded conn from the transport, after the 101: wait for that
	// (Trace.Accept) before the next conn, or the order is a race.
	accepted := make(chan net.Addr, 4)
	lc := &ms.ListenConfig{
		Config: ms.Config{Transforms: helloCfg.Transforms, Transports: []stack.Transport{tr},
			Trace: &ms.Trace{Accept: func(i ms.AcceptInfo) {
				if i.Err == nil {
					select {
					case accepted <- i.Remote:
					default: // never block the listener's accept loop
					}
				}
			}}},
		MaxHandshakesPerIP: 1,
		OnError:            errs.add,
	}
	ln := listen(t, lc, "ws://127.0.0.1:0~hello")
	_, hostport := wsSection(t, ln)
	counted := func(who string) {
		t.Helper()
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatalf("the conn forwarded for %s was not taken by the listener within 10s", who)
		}
	}
	// Two conns from one TCP source (the proxy), for two clients: both
	// upgraded, so the proxy's address was not limited to one.
	a := upgradeAs(t, hostport, "198.51.100.7")
	counted("198.51.100.7")
	b := upgradeAs(t, hostport, "198.51.100.8")
	counted("198.51.100.8")
	// A second conn for the first client is over its limit.
	c := upgradeAs(t, hostport, "198.51.100.7")
	expectClosedByPeer(t, c, "a second conn forwarded for 198.51.100.7")
	errs.wait(t, 1, 10*time.Second)
	if err := errs.all()[0]; !errors.Is(err, ms.ErrOverLimit) || !strings.Contains(err.Error(), "198.51.100.7") {
		t.Errorf("OnError: %v, want ErrOverLimit naming the forwarded source", err)
	}
	for _, cl := range []struct {
		c    net.Conn
		want string
	}{{a, "198.51.100.7"}, {b, "198.51.100.8"}} {
		// "HELO" in a binary frame, masked with a zero key.
		if _, err := cl.c.Write(append([]byte{0x82, 0x80 | 4, 0, 0, 0, 0}, "HELO"...)); err != nil {
			t.Fatal(err)
		}
		sc, err := acceptWithin(ln, 10*time.Second)
		if err != nil {
			t.Fatalf("the client forwarded for %s: %v", cl.want, err)
		}
		if got := sc.RemoteAddr().String(); !strings.Contains(got, cl.want) {
			t.Errorf("accepted %s, want the client forwarded for %s", got, cl.want)
		}
		cl.c.Close() // first: this client would not answer a close frame
		sc.Close()
	}
}

// upgradeAs opens a WebSocket conn to hostport by hand, as a proxy would
// for the client at forwardedFor, and returns it after the 101.
func upgradeAs(t *testing.T, hostport, forwardedFor string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", hostport, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Forwarded-For: %s\r\n\r\n", hostport, forwardedFor)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("upgrade for %s: %v", forwardedFor, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade for %s: %s", forwardedFor, resp.Status)
	}
	if br.Buffered() > 0 {
		t.Fatalf("upgrade for %s: %d bytes after the 101", forwardedFor, br.Buffered())
	}
	c.SetReadDeadline(time.Time{})
	return c
}
