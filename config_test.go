package multiserver_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/stack"
)

// countTransport counts the I/O it is asked for: a configuration error
// must be reported before any.
type countTransport struct {
	name string
	io   *atomic.Int32
}

func (c countTransport) Name() string { return c.name }
func (c countTransport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	return sectionEndpoint{s}, nil
}
func (c countTransport) Dial(context.Context, stack.Endpoint) (net.Conn, error) {
	c.io.Add(1)
	return nil, errors.New("countTransport dials nothing")
}
func (c countTransport) Listen(context.Context, msaddr.Section, []stack.Scope) (stack.Listener, error) {
	c.io.Add(1)
	return nil, errors.New("countTransport listens on nothing")
}
func (countTransport) Section(net.Addr) (msaddr.Section, bool) { return msaddr.Section{}, false }

// TestBadConfigFailsBeforeIO: every Config field no handshake could use
// makes Dial and Listen fail before any I/O, wrapping ErrInvalidConfig
// and naming the field. Issue 13: a short AppKey and a MaxFrameSize of
// 70000 used to give a working listener whose every client was reset.
func TestBadConfigFailsBeforeIO(t *testing.T) {
	_, id, _ := ed25519.GenerateKey(nil)
	badHalves := append(ed25519.PrivateKey(nil), id...)
	badHalves[40] ^= 1
	for _, tt := range []struct {
		name  string
		cfg   ms.Config
		field string
	}{
		{"issue 13", ms.Config{AppKey: []byte("short"), MaxFrameSize: 70000}, "Config.AppKey"},
		{"long app key", ms.Config{AppKey: make([]byte, 64)}, "Config.AppKey"},
		{"frame too large", ms.Config{MaxFrameSize: 70000}, "Config.MaxFrameSize"},
		{"negative frame", ms.Config{MaxFrameSize: -1}, "Config.MaxFrameSize"},
		{"identity is a seed", ms.Config{Identity: id[:32]}, "Config.Identity"},
		{"identity halves", ms.Config{Identity: badHalves}, "Config.Identity"},
		{"nil transport", ms.Config{Transports: []stack.Transport{nil}}, "Config.Transports[0]"},
		{"nil transform", ms.Config{Transforms: []stack.Transform{nil}}, "Config.Transforms[0]"},
		{"two transports, one name", ms.Config{Transports: []stack.Transport{countTransport{name: "x"}, countTransport{name: "x"}}}, "Config.Transports[0] and [1]"},
		{"two transforms, one name", ms.Config{Transforms: []stack.Transform{noauth.New(nil), noauth.New(nil)}}, "Config.Transforms[0] and [1]"},
		{"transport named like a built-in transform", ms.Config{Transports: []stack.Transport{countTransport{name: "shs"}}}, "Config.Transports[0]"},
		{"transform named like a built-in transport", ms.Config{Transforms: []stack.Transform{renamed{noauth.New(nil), "net"}}}, "Config.Transforms[0]"},
		{"empty name", ms.Config{Transports: []stack.Transport{countTransport{name: ""}}}, "Config.Transports[0]"},
		{"name with a separator", ms.Config{Transforms: []stack.Transform{renamed{noauth.New(nil), "a~b"}}}, "Config.Transforms[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var io atomic.Int32
			tt.cfg.Transports = append(tt.cfg.Transports, countTransport{name: "count", io: &io})
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, ms.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
					t.Errorf("%s: error %v; want ErrInvalidConfig naming %s", op, err, tt.field)
				}
				if err != nil && (strings.Contains(err.Error(), hex.EncodeToString(id[:16])) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(id[:30]))) {
					t.Errorf("%s: the error shows key material: %v", op, err)
				}
			}
			lc := &ms.ListenConfig{Config: tt.cfg}
			ln, err := lc.Listen(context.Background(), "count:x~shs;net:127.0.0.1:0~shs")
			if err == nil {
				ln.Close()
			}
			check("Listen", err)
			d := &ms.Dialer{Config: tt.cfg}
			c, err := d.DialContext(context.Background(), "count:x~noauth;net:127.0.0.1:1~noauth")
			if err == nil {
				c.Close()
			}
			check("Dial", err)
			// A second use reports the same error: the check is not
			// skipped because the first one ran.
			_, err = d.DialContext(context.Background(), "count:x~noauth")
			check("second Dial", err)
			if n := io.Load(); n != 0 {
				t.Errorf("%d dials or listens happened before the error", n)
			}
		})
	}
}

// renamed is a transform under another name.
type renamed struct {
	stack.Transform
	name string
}

func (r renamed) Name() string { return r.name }

func TestBadScopesFailBeforeIO(t *testing.T) {
	var io atomic.Int32
	lc := &ms.ListenConfig{Config: ms.Config{Transports: []stack.Transport{countTransport{name: "count", io: &io}}}, Scopes: []ms.Scope{"galaxy"}}
	_, err := lc.Listen(context.Background(), "count:x")
	if !errors.Is(err, ms.ErrInvalidConfig) || !errors.Is(err, stack.ErrScope) || !strings.Contains(err.Error(), "ListenConfig.Scopes") {
		t.Errorf("Listen: %v; want ErrInvalidConfig and ErrScope naming ListenConfig.Scopes", err)
	}
	if io.Load() != 0 {
		t.Error("listened before the error")
	}
}

// TestMaxFrameSizeInRangeWorks: accepted values of MaxFrameSize dial and
// carry data (the echo comes back in frames of at most 100 bytes).
func TestMaxFrameSizeInRangeWorks(t *testing.T) {
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~shs")
	echo(t, ln)
	for _, size := range []int{0, 100, 4096, 65535} {
		d := &ms.Dialer{Config: ms.Config{MaxFrameSize: size}}
		c, err := d.DialContext(context.Background(), ln.Addr().String())
		if err != nil {
			t.Errorf("MaxFrameSize %d: Dial: %v", size, err)
			continue
		}
		t.Cleanup(func() { c.Close() })
		roundTrip(t, c, 100)
		c.Close()
	}
}

// TestZeroConfigListenerHasOneKey: with a nil Identity, every stack of a
// Listener advertises the same key (issue 13: one fresh key per stack).
func TestZeroConfigListenerHasOneKey(t *testing.T) {
	sock := filepath.Join(shortDir(t), "s")
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~shs;ws://127.0.0.1:0~shs;unix:"+sock+"~shs")
	echo(t, ln)
	m := ln.Addr().(*ms.Addr).Multi()
	if len(m) != 3 {
		t.Fatalf("advertised %d alternatives, want 3: %v", len(m), m)
	}
	key := m[0][1].String()
	for _, a := range m {
		if got := a[1].String(); got != key {
			t.Errorf("alternative %v advertises %s, alternative 1 %s", a, got, key)
		}
	}
	// Each alternative dialed alone reaches the server under that key.
	for _, a := range m {
		c, err := ms.Dial(context.Background(), a.String())
		if err != nil {
			t.Errorf("Dial(%v): %v", a, err)
			continue
		}
		if got := "shs:" + base64.StdEncoding.EncodeToString(ms.RemoteKey(c)); got != key {
			t.Errorf("Dial(%v): server key %s, want %s", a, got, key)
		}
		c.Close()
	}
}

// TestZeroConfigDialerHasOneKey: with a nil Identity, every dial of one
// Dialer presents the same client key; another Dialer presents another.
func TestZeroConfigDialerHasOneKey(t *testing.T) {
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~shs")
	keys := make(chan ed25519.PublicKey, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			keys <- ms.RemoteKey(c)
			c.Close()
		}
	}()
	dial := func(d *ms.Dialer) ed25519.PublicKey {
		t.Helper()
		c, err := d.DialContext(context.Background(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return <-keys
	}
	var d1, d2 ms.Dialer
	a, b, other := dial(&d1), dial(&d1), dial(&d2)
	if !a.Equal(b) {
		t.Error("two dials of one zero Dialer presented two keys")
	}
	if a.Equal(other) {
		t.Error("two zero Dialers presented the same key")
	}
}

// TestPlugins: Dialer.Plugins lists the built-ins with the Config's own in
// place of those of the same name, and reports a bad Config as Dial does.
func TestPlugins(t *testing.T) {
	var io atomic.Int32
	d := &ms.Dialer{Config: ms.Config{Transports: []stack.Transport{countTransport{name: "net", io: &io}}}}
	ts, fs, err := d.Plugins()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"net", "unix", "ws", "wss", "onion"} {
		if ts[name] == nil {
			t.Errorf("no transport %q", name)
		}
	}
	if _, ok := ts["net"].(countTransport); !ok {
		t.Errorf("net is %T, want the Config's own", ts["net"])
	}
	if fs["shs"] == nil || fs["noauth"] == nil {
		t.Errorf("transforms %v, want shs and noauth", fs)
	}
	delete(ts, "net") // the caller's copy
	if ts2, _, _ := d.Plugins(); ts2["net"] == nil {
		t.Error("deleting from the returned map changed the Dialer")
	}
	bad := &ms.Dialer{Config: ms.Config{MaxFrameSize: -1}}
	if _, _, err := bad.Plugins(); !errors.Is(err, ms.ErrInvalidConfig) {
		t.Errorf("Plugins with a bad Config: %v, want ErrInvalidConfig", err)
	}
}

// TestListenUnknownStackBindsNothing: an alternative naming a plugin the
// ListenConfig does not know fails Listen before any alternative is
// bound, the earlier ones included.
func TestListenUnknownStackBindsNothing(t *testing.T) {
	var io atomic.Int32
	lc := &ms.ListenConfig{Config: ms.Config{Transports: []stack.Transport{countTransport{name: "count", io: &io}}}}
	for _, addrs := range []string{"count:x~noauth;count:y~bogus", "count:x;bogus:y"} {
		_, err := lc.Listen(context.Background(), addrs)
		if !errors.Is(err, ms.ErrNoStack) || !strings.Contains(err.Error(), "bogus") {
			t.Errorf("Listen(%q): %v, want ErrNoStack naming bogus", addrs, err)
		}
	}
	if n := io.Load(); n != 0 {
		t.Errorf("%d alternatives were bound before the error", n)
	}
}
