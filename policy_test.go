package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

func TestDestScope(t *testing.T) {
	tests := []struct {
		section string
		want    ms.Scope
	}{
		{"net:127.0.0.1:8008", ms.Device},
		{"net:::1:8008", ms.Device},
		{"net::8008", ms.Device}, // empty host dials localhost
		{"net:localhost:8008", ms.Device},
		{"net:LocalHost.:8008", ms.Device},
		{"net:db.localhost:8008", ms.Device},
		{"net:192.168.1.5:8008", ms.Local},
		{"net:10.0.0.1:8008", ms.Local},
		{"net:fe80::1%eth0:8008", ms.Local},
		{"net:fd00::1:8008", ms.Local},
		{"net:pi.local:8008", ms.Local},
		{"net:192.0.2.7:8008", ms.Public},
		{"net:2001:db8::1:8008", ms.Public},
		{"net:example.com:8008", ms.Public},
		{"net:router.lan:8008", ms.Public}, // only a lookup could tell
		{"ws://127.0.0.1:8989", ms.Device},
		{"ws://[::1]:8989/path", ms.Device},
		{"wss://192.168.0.9", ms.Local},
		{"ws://example.com:80", ms.Public},
		{"ws:10.1.2.3:80", ms.Local},
		{"unix:/run/app.sock", ms.Device},
		{"serial:/dev/ttyUSB0:115200", ms.Device},
		{"onion:abcdefghijklmnop.onion:8008", ms.Public},
		{"bt:65D900DDB353", ""}, // a transport that cannot tell
	}
	for _, tt := range tests {
		s, err := msaddr.ParseSection(tt.section)
		if err != nil {
			t.Fatalf("ParseSection(%q): %v", tt.section, err)
		}
		if got := ms.DestScope(nil, s); got != tt.want {
			t.Errorf("DestScope(%s) = %q, want %q", tt.section, got, tt.want)
		}
	}
}

// alt builds the Alternative a Dialer shows its policy for one address.
func alt(t *testing.T, addr string) ms.Alternative {
	t.Helper()
	a := msaddr.MustParse(addr)[0]
	names := make([]string, len(a))
	for i, s := range a {
		names[i] = s.Name
	}
	return ms.Alternative{Stack: strings.Join(names, "~"), Addr: a, Scope: ms.DestScope(nil, a[0])}
}

func TestReadyMadeDialPolicies(t *testing.T) {
	key := "shs:" + shs.EncodeKey(make([]byte, 32))
	tests := []struct {
		policy ms.DialPolicy
		name   string
		addr   string
		allow  bool
	}{
		{ms.OnionForPublic, "onion", "onion:abcdefghijklmnop.onion:8008~" + key, true},
		{ms.OnionForPublic, "onion", "net:192.0.2.7:8008~" + key, false},
		{ms.OnionForPublic, "onion", "ws://example.com:80~" + key, false},
		{ms.OnionForPublic, "onion", "net:192.168.1.5:8008~" + key, true},
		{ms.OnionForPublic, "onion", "net:127.0.0.1:8008~" + key, true},
		{ms.OnionForPublic, "onion", "unix:/run/a.sock~noauth", true},
		{ms.OnionForPublic, "onion", "bt:65D900DDB353~" + key, false}, // scope unknown: refused
		{ms.NoauthOnDevice, "noauth", "net:127.0.0.1:8008~noauth", true},
		{ms.NoauthOnDevice, "noauth", "unix:/run/a.sock~noauth", true},
		{ms.NoauthOnDevice, "noauth", "net:192.168.1.5:8008~noauth", false},
		{ms.NoauthOnDevice, "noauth", "ws://example.com:80~noauth", false},
		{ms.NoauthOnDevice, "noauth", "net:192.0.2.7:8008~" + key, true},
	}
	for _, tt := range tests {
		err := tt.policy(alt(t, tt.addr))
		if allowed := err == nil; allowed != tt.allow {
			t.Errorf("%s(%s) = %v, want allowed %v", tt.name, tt.addr, err, tt.allow)
		}
		if err != nil && !errors.Is(err, ms.ErrRefused) {
			t.Errorf("%s(%s) = %v, want it to wrap ErrRefused", tt.name, tt.addr, err)
		}
	}
	both := ms.AllDial(ms.OnionForPublic, ms.NoauthOnDevice)
	if err := both(alt(t, "net:192.168.1.5:8008~noauth")); err == nil {
		t.Error("AllDial(OnionForPublic, NoauthOnDevice) allowed noauth on the LAN")
	}
	if err := both(alt(t, "net:192.168.1.5:8008~"+key)); err != nil {
		t.Errorf("AllDial: %v for shs on the LAN", err)
	}
}

// countingTransport is tcp under the name "cnet", counting Dial calls.
type countingTransport struct {
	stack.Transport
	dials atomic.Int64
}

func (c *countingTransport) Name() string { return "cnet" }
func (c *countingTransport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	s.Name = "net"
	ep, err := c.Transport.Parse(s)
	if err != nil {
		return nil, err
	}
	return cnetEndpoint{ep}, nil
}
func (c *countingTransport) Dial(ctx context.Context, ep stack.Endpoint) (net.Conn, error) {
	c.dials.Add(1)
	return c.Transport.Dial(ctx, ep.(cnetEndpoint).Endpoint)
}

// cnetEndpoint is a net endpoint that prints as a cnet section.
type cnetEndpoint struct{ stack.Endpoint }

func (e cnetEndpoint) Section() msaddr.Section {
	s := e.Endpoint.Section()
	s.Name = "cnet"
	return s
}

// TestDialPolicyRefusal: refused alternatives cost no I/O, show in the
// DialError, and do not keep an allowed alternative from working.
func TestDialPolicyRefusal(t *testing.T) {
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~shs")
	echo(t, ln)
	good := ln.Addr().String()
	key := good[strings.Index(good, "~"):]
	ct := &countingTransport{Transport: tcp.New(nil)}

	var mu sync.Mutex
	var seen []ms.Alternative
	refuseCnet := func(a ms.Alternative) error {
		mu.Lock()
		seen = append(seen, a)
		mu.Unlock()
		if a.Addr[0].Name == "cnet" {
			return errors.New("no cnet today")
		}
		return nil
	}
	d := &ms.Dialer{Config: ms.Config{Transports: []stack.Transport{ct}}, Policy: refuseCnet}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Only a refused alternative: a DialError wrapping ErrRefused, no dial.
	cnetAddr := "cnet:" + strings.TrimPrefix(good, "net:")
	_, err := d.DialContext(ctx, cnetAddr)
	var de *ms.DialError
	if !errors.As(err, &de) || !errors.Is(err, ms.ErrRefused) || len(de.Errs) != 1 {
		t.Fatalf("Dial(refused) = %v, want a DialError with one error wrapping ErrRefused", err)
	}
	if ae := de.Errs[0].(*ms.AltError); ae.Index != 0 || ae.Stack != "cnet~shs" || !strings.Contains(ae.Error(), "no cnet today") {
		t.Errorf("AltError = %+v (%v)", ae, ae)
	}
	if n := ct.dials.Load(); n != 0 {
		t.Fatalf("refused alternative was dialed %d times", n)
	}

	// The policy saw the canonical address, the scope and the key.
	mu.Lock()
	a := seen[0]
	mu.Unlock()
	if want, _ := shs.ParseID(strings.TrimPrefix(key, "~shs:")); !bytes.Equal(a.Key, want) || a.Scope != "" || a.Stack != "cnet~shs" {
		t.Errorf("policy saw %+v, want key %x, scope \"\" (unknown transport)", a, []byte(want))
	}

	// A refused alternative ahead of an allowed one: the allowed one works.
	c, err := d.DialContext(ctx, cnetAddr+";"+good)
	if err != nil {
		t.Fatalf("Dial(refused;allowed): %v", err)
	}
	roundTrip(t, c, 100)
	c.Close()
	if n := ct.dials.Load(); n != 0 {
		t.Fatalf("refused alternative was dialed %d times", n)
	}
	mu.Lock()
	if a := seen[len(seen)-1]; a.Index != 1 || a.Scope != ms.Device || a.Addr.String() != good {
		t.Errorf("policy saw %+v for the allowed alternative", a)
	}
	mu.Unlock()

	// A ready-made policy in a real dial: a public address is refused.
	d = &ms.Dialer{Policy: ms.OnionForPublic}
	_, err = d.DialContext(ctx, "net:192.0.2.7:8008"+key)
	if !errors.Is(err, ms.ErrRefused) || !strings.Contains(err.Error(), "OnionForPublic") {
		t.Errorf("OnionForPublic dial: %v", err)
	}
}

// bannerTransform's server speaks first: it writes "BANNER" and then
// waits for "OK". It shows on the wire whether the handshake started.
type bannerTransform struct{}

func (bannerTransform) Name() string { return "banner" }
func (bannerTransform) Parse(s msaddr.Section) (stack.Endpoint, error) {
	return sectionEndpoint{msaddr.Section{Name: "banner"}}, nil
}
func (bannerTransform) Client(ctx context.Context, c net.Conn, ep stack.Endpoint) (net.Conn, error) {
	buf := make([]byte, 6)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	_, err := c.Write([]byte("OK"))
	return c, err
}
func (b bannerTransform) Listen(s msaddr.Section, ln stack.Listener) (stack.ServerTransform, error) {
	return b, nil
}
func (bannerTransform) Advertise() msaddr.Section { return msaddr.Section{Name: "banner"} }
func (bannerTransform) Server(ctx context.Context, c net.Conn) (net.Conn, error) {
	if _, err := c.Write([]byte("BANNER")); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	return c, nil
}

// TestAcceptPolicyOnTheWire: a refused conn is closed before the server
// writes its first handshake byte; an allowed one gets the banner.
func TestAcceptPolicyOnTheWire(t *testing.T) {
	var refuse atomic.Bool
	srcs := make(chan ms.Source, 4)
	errs := newErrLog(4)
	lc := &ms.ListenConfig{
		Config:  ms.Config{Transforms: []stack.Transform{bannerTransform{}}},
		OnError: errs.add,
		Policy: func(s ms.Source) error {
			srcs <- s
			if refuse.Load() {
				return fmt.Errorf("source %v not welcome", s.Remote)
			}
			return nil
		},
	}
	ln := listen(t, lc, "net:127.0.0.1:0~banner")
	addr := tcpTarget(t, ln)

	// Control: allowed, the server speaks first.
	c := dialSilent(t, addr, 1)[0]
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "BANNER" {
		t.Fatalf("allowed conn read %q, %v; want the banner", buf, err)
	}
	s := recvSource(t, srcs)
	if s.Stack != "net~banner" || s.Scope != ms.Device || s.Remote.String() != c.LocalAddr().String() {
		t.Errorf("policy saw %+v, want net~banner from %v on the device", s, c.LocalAddr())
	}

	// Refused: not one byte, then the server hangs up.
	refuse.Store(true)
	c = dialSilent(t, addr, 1)[0]
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if len(got) != 0 {
		t.Errorf("refused conn received %q; want nothing", got)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("refused conn: read %v, want EOF or a reset from the server", err)
	}
	recvSource(t, srcs)
	errs.wait(t, 1, 10*time.Second)
	if err := errs.all()[0]; !errors.Is(err, ms.ErrRefused) || !strings.Contains(err.Error(), "not welcome") {
		t.Errorf("OnError: %v, want ErrRefused with the policy's reason", err)
	}

	// A Dialer sees a handshake failure; the listener accepts nothing.
	d := &ms.Dialer{Config: lc.Config}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.DialContext(ctx, ln.Addr().String()); !errors.Is(err, ms.ErrHandshake) {
		t.Errorf("dial to a refusing listener: %v, want ErrHandshake", err)
	}
}

func recvSource(t *testing.T, srcs <-chan ms.Source) ms.Source {
	t.Helper()
	select {
	case s := <-srcs:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the accept policy was not asked within 10s")
		return ms.Source{}
	}
}

// TestAcceptPolicyStages: NoauthFromDevice admits unix and loopback, and
// Authorize still decides after the handshake.
func TestAcceptPolicyStages(t *testing.T) {
	tests := []struct {
		src   ms.Source
		allow bool
	}{
		{ms.Source{Stack: "net~noauth", Remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, Scope: ms.Device}, true},
		{ms.Source{Stack: "unix~noauth", Remote: &net.UnixAddr{Name: "@", Net: "unix"}, Scope: ms.Device}, true},
		{ms.Source{Stack: "net~noauth", Remote: &net.TCPAddr{IP: net.IPv4(192, 168, 1, 2), Port: 1}, Scope: ms.Local}, false},
		{ms.Source{Stack: "ws~noauth", Scope: ""}, false},
		{ms.Source{Stack: "net~shs", Scope: ms.Public}, true},
	}
	for _, tt := range tests {
		err := ms.NoauthFromDevice(tt.src)
		if (err == nil) != tt.allow || err != nil && !errors.Is(err, ms.ErrRefused) {
			t.Errorf("NoauthFromDevice(%+v) = %v, want allowed %v", tt.src, err, tt.allow)
		}
	}

	// All three stages on one listener: the accept policy passes unix,
	// Authorize refuses the one key it does not know.
	dir := shortDir(t)
	friend := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	stranger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	errs := newErrLog(4)
	lc := &ms.ListenConfig{
		Config: ms.Config{Authorize: func(ctx context.Context, k ed25519.PublicKey) (any, error) {
			if !bytes.Equal(k, friend.Public().(ed25519.PublicKey)) {
				return nil, errors.New("stranger")
			}
			return "friend", nil
		}},
		Policy:  ms.AllAccept(ms.NoauthFromDevice, func(s ms.Source) error { return nil }),
		OnError: errs.add,
	}
	ln := listen(t, lc, "unix:"+filepath.Join(dir, "s")+"~shs")
	echo(t, ln)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := (&ms.Dialer{Config: ms.Config{Identity: friend}}).DialContext(ctx, ln.Addr().String())
	if err != nil {
		t.Fatalf("friend: %v", err)
	}
	roundTrip(t, c, 10)
	c.Close()
	if _, err := (&ms.Dialer{Config: ms.Config{Identity: stranger}}).DialContext(ctx, ln.Addr().String()); err == nil {
		t.Error("stranger got through Authorize")
	}
	errs.wait(t, 1, 10*time.Second)
	if err := errs.all()[0]; errors.Is(err, ms.ErrRefused) || !errors.Is(err, ms.ErrHandshake) {
		t.Errorf("OnError: %v, want the Authorize refusal as a handshake error", err)
	}
}

// FuzzDestScope: any section a plugin's Parse could let through gets a
// scope or "", never a panic; the ready-made policies accept any
// Alternative.
func FuzzDestScope(f *testing.F) {
	for _, s := range []string{"net:127.0.0.1:8008", "ws://[::1]:80/x", "ws:h:1", "wss://", "unix:/a", "onion:x.onion:1", "net::", "net:[::1:2", "ws://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := msaddr.ParseAddress(in)
		if err != nil {
			return
		}
		sc := ms.DestScope(nil, a[0])
		switch sc {
		case "", ms.Device, ms.Local, ms.Public:
		default:
			t.Fatalf("DestScope(%s) = %q", in, sc)
		}
		alt := ms.Alternative{Addr: a, Scope: sc, Stack: "x"}
		ms.OnionForPublic(alt)
		ms.NoauthOnDevice(alt)
	})
}
