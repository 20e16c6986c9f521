package lan_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/lan"
	"github.com/go-multiserver/multiserver/msaddr"
)

// On Linux a datagram sent with SO_BROADCAST to 127.255.255.255 reaches
// every socket bound to its port with SO_REUSEPORT: the tests run
// announcers and watchers on loopback, on free ports.
var loopbackBroadcast = []netip.Addr{netip.MustParseAddr("127.255.255.255")}

func testKey(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(s[:])
}

// freePort returns a UDP port nobody else uses until the test ends.
func freePort(t testing.TB) int {
	t.Helper()
	// The socket stays open, with SO_REUSEADDR and SO_REUSEPORT, until the
	// test ends: the port is then not handed out to anyone else (another
	// test process picking a free port), while the test's own sockets can
	// still bind it.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if err == nil {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return err
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).Port
}

// collector is a raw socket on a port, sharing it with the watchers, that
// keeps every datagram it reads.
type collector struct {
	c    net.PacketConn
	mu   sync.Mutex
	got  [][]byte
	more chan struct{}
}

func newCollector(t testing.TB, port int) *collector {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if err == nil {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return err
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	co := &collector{c: c, more: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			co.mu.Lock()
			co.got = append(co.got, bytes.Clone(buf[:n]))
			co.mu.Unlock()
			select {
			case co.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return co
}

// wait returns the datagrams once there are at least n, failing after
// 10 s.
func (co *collector) wait(t testing.TB, n int) [][]byte {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		co.mu.Lock()
		got := co.got
		co.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-co.more:
		case <-deadline:
			t.Fatalf("%d datagrams after 10s, want %d", len(got), n)
		}
	}
}

// echoListener listens on net~shs in the device and private scopes and
// echoes every conn. (Listen refuses unix sockets and noauth in the
// private scope; TestAnnouncementNeverLeaks covers an Advertiser that
// offers them anyway.)
func echoListener(t testing.TB, key ed25519.PrivateKey) *ms.Listener {
	t.Helper()
	lc := ms.ListenConfig{Config: ms.Config{Identity: key}, Scopes: []ms.Scope{ms.Device, ms.Private}}
	ln, err := lc.Listen(context.Background(), "net:127.0.0.1:0~shs")
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
	return ln
}

// shsEcho dials addr and checks that what it sends comes back.
func shsEcho(t testing.TB, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ms.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	msg := []byte("hello across the LAN")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := c.(*ms.Conn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// TestLoopbackAnnounceWatch: a Go announcer is found by a Go watcher, in
// each format; the found address dials, and an shs echo completes. What
// goes on the wire is the listener's address and nothing else.
func TestLoopbackAnnounceWatch(t *testing.T) {
	for _, f := range []lan.Format{lan.Signed, lan.Legacy} {
		t.Run(f.String(), func(t *testing.T) {
			key := testKey("announcer")
			ln := echoListener(t, key)
			port, legacyPort := freePort(t), freePort(t)
			a := &lan.Announcer{
				Interval: 20 * time.Millisecond, Formats: []lan.Format{f},
				Port: port, LegacyPort: legacyPort, Destinations: loopbackBroadcast, AllowLoopback: true,
				OnError: func(err error) { t.Errorf("announcer: %v", err) },
			}
			addr, err := a.ListenerAddress(ln)
			if err != nil {
				t.Fatal(err)
			}
			if len(addr) != 1 || addr[0].Transport().Name != "net" || addr[0].Transforms()[0].Name != "shs" {
				t.Fatalf("ListenerAddress = %s, want the net~shs stack alone", addr)
			}
			wirePort := port
			if f == lan.Legacy {
				wirePort = legacyPort
			}
			co := newCollector(t, wirePort)

			w := &lan.Watcher{
				Formats: []lan.Format{f}, Port: port, LegacyPort: legacyPort, AllowLoopback: true,
				OnError: func(err error) { t.Errorf("watcher: %v", err) },
			}
			ctx, cancel := context.WithCancel(context.Background())
			found := make(chan lan.Peer, 16)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				if err := w.Watch(ctx, func(p lan.Peer) { found <- p }); err != nil {
					t.Errorf("Watch: %v", err)
				}
			}()
			go func() {
				defer wg.Done()
				if err := a.Announce(ctx, addr, key); err != nil {
					t.Errorf("Announce: %v", err)
				}
			}()
			defer func() { cancel(); wg.Wait() }()

			var p lan.Peer
			select {
			case p = <-found:
			case <-time.After(10 * time.Second):
				t.Fatal("no peer found in 10s")
			}
			if p.Format != f || p.Verified != (f == lan.Signed) || !p.Key.Equal(key.Public()) ||
				!p.Address.Equal(addr) || p.Source.Addr() != netip.MustParseAddr("127.0.0.1") {
				t.Fatalf("found %+v; want %s from %s", p, addr, key.Public())
			}
			shsEcho(t, p.Address.String())

			for i, b := range co.wait(t, 3) {
				if bytes.Contains(b, []byte("unix")) || bytes.Contains(b, []byte("noauth")) {
					t.Errorf("datagram %d leaks a device-scope stack: %q", i, b)
				}
				var got msaddr.Multi
				if f == lan.Signed {
					q, err := lan.Open(b, nil)
					if err != nil {
						t.Fatalf("datagram %d: %v", i, err)
					}
					got = q.Address
				} else if got, err = msaddr.Parse(string(b)); err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if !got.Equal(addr) || strings.Contains(got.String(), "unix") {
					t.Errorf("datagram %d announces %s, want %s", i, got, addr)
				}
			}
		})
	}
}

// leakyAdvertiser offers device-scope stacks in the private scope, as a
// careless transport plugin might.
type leakyAdvertiser struct{ m msaddr.Multi }

func (l leakyAdvertiser) Address(ms.Scope) msaddr.Multi { return l.m }

// TestAnnouncementNeverLeaks: whatever a listener offers, no unix path,
// serial line or noauth stack goes out in either format.
func TestAnnouncementNeverLeaks(t *testing.T) {
	key := testKey("leaky")
	k := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	const path = "/home/alice/.ssb/socket"
	adv := leakyAdvertiser{msaddr.MustParse("unix:" + path + "~shs:" + k + ";net:127.0.0.1:8008~noauth;serial:/dev/ttyUSB0:115200~shs:" + k + ";net:127.0.0.1:8008~shs:" + k)}
	port, legacyPort := freePort(t), freePort(t)
	a := &lan.Announcer{Interval: 20 * time.Millisecond, Port: port, LegacyPort: legacyPort, Destinations: loopbackBroadcast, AllowLoopback: true}
	addr, err := a.ListenerAddress(adv)
	if err != nil {
		t.Fatal(err)
	}
	if addr.String() != "net:127.0.0.1:8008~shs:"+k {
		t.Fatalf("ListenerAddress = %s", addr)
	}
	// Announce refuses the full address outright.
	if err := a.Announce(t.Context(), adv.m, key); !errors.Is(err, lan.ErrScope) {
		t.Fatalf("Announce(%s) = %v, want ErrScope", adv.m, err)
	}
	signed, legacy := newCollector(t, port), newCollector(t, legacyPort)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Announce(ctx, addr, key) }()
	got := append(signed.wait(t, 2), legacy.wait(t, 2)...)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, b := range got {
		text := string(b)
		if p, err := lan.Open(b, nil); err == nil {
			text = p.Address.String()
		}
		for _, bad := range []string{path, "unix", "serial", "noauth"} {
			if strings.Contains(text, bad) {
				t.Errorf("datagram %d carries %q: %q", i, bad, text)
			}
		}
		if text != addr.String() {
			t.Errorf("datagram %d announces %q, want %q", i, text, addr)
		}
	}
}

// TestLoopbackIPv6: the IPv6 path (the watcher's IPv6-only socket, the
// announcer's IPv6 socket) carries an ssb-lan announcement to ::1.
func TestLoopbackIPv6(t *testing.T) {
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		c.Close()
	}
	key := testKey("v6")
	addr := msaddr.MustParse("net:127.0.0.1:8008~shs:" + base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)))
	port := freePort(t)
	a := &lan.Announcer{Interval: 20 * time.Millisecond, Formats: []lan.Format{lan.Signed}, Port: port,
		Destinations: []netip.Addr{netip.IPv6Loopback()}, AllowLoopback: true}
	w := &lan.Watcher{Formats: []lan.Format{lan.Signed}, Port: port, AllowLoopback: true}
	ctx, cancel := context.WithCancel(context.Background())
	found := make(chan lan.Peer, 16)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.Watch(ctx, func(p lan.Peer) { found <- p }) }()
	go func() { defer wg.Done(); a.Announce(ctx, addr, key) }()
	defer func() { cancel(); wg.Wait() }()
	select {
	case p := <-found:
		if p.Source.Addr() != netip.IPv6Loopback() || !p.Verified || !p.Address.Equal(addr) {
			t.Fatalf("found %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no peer found over IPv6 in 10s")
	}
}
