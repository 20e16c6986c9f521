package shs_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

func TestTransformParse(t *testing.T) {
	pub := serverKey.Public().(ed25519.PublicKey)
	std := base64.StdEncoding.EncodeToString(pub)
	url := strings.TrimRight(base64.URLEncoding.EncodeToString(pub), "=")
	seed := bytes.Repeat([]byte{0xfb}, 32) // base64 with '+' or '/'
	seedStd := base64.StdEncoding.EncodeToString(seed)
	seedURL := strings.TrimRight(base64.URLEncoding.EncodeToString(seed), "=")
	identity := make([]byte, 32)
	identity[0] = 1
	tr := newTransform(t, nil)
	tests := []struct {
		in, want string
	}{
		{"shs:" + std, "shs:" + std},
		{"shs:" + url, "shs:" + std},
		{"shs:" + url + ":" + seedURL, "shs:" + std + ":" + seedStd},
		{"shs:@" + std + ".ed25519", "shs:" + std},
		{"shs", ""},
		{"shs:" + std + ":" + seedStd + ":x", ""},
		{"shs:abc", ""},
		{"shs:" + base64.StdEncoding.EncodeToString(identity), ""},
		{"shs:" + std + ":short", ""},
		{"noauth", ""},
	}
	for _, tt := range tests {
		s, err := msaddr.ParseSection(tt.in)
		if err != nil {
			t.Fatalf("ParseSection(%q): %v", tt.in, err)
		}
		got, err := tr.Parse(s)
		if tt.want == "" {
			if !errors.Is(err, stack.ErrAddress) {
				t.Errorf("Parse(%q) error = %v, want ErrAddress", tt.in, err)
			}
			continue
		}
		if err != nil || got.Section().String() != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// fakeListener is the stack.Listener the transform needs for Listen.
type fakeListener struct{ net.Listener }

func (fakeListener) Advertise(stack.Scope) []msaddr.Section { return nil }

func TestTransformListenAndDial(t *testing.T) {
	authed := errors.New("refused")
	cfg := &shs.Config{Authorize: func(_ context.Context, k ed25519.PublicKey) (any, error) {
		if bytes.Equal(k, clientKey[32:]) {
			return nil, authed
		}
		return len(k), nil
	}}
	tr := newTransform(t, cfg)
	if _, err := tr.Listen(msaddr.Section{Name: "shs", Args: []string{"x"}}, fakeListener{}); !errors.Is(err, stack.ErrAddress) {
		t.Fatalf("Listen with a key: %v, want ErrAddress", err)
	}
	st1, err := tr.Listen(msaddr.Section{Name: "shs"}, fakeListener{})
	if err != nil {
		t.Fatal(err)
	}
	st2, err := tr.Listen(msaddr.Section{Name: "shs"}, fakeListener{})
	if err != nil {
		t.Fatal(err)
	}
	adv := st1.Advertise()
	// One transform, one identity: every listener of a multiserver
	// Listener (one per stack) must advertise the same key.
	if adv.Name != "shs" || len(adv.Args) != 1 || adv.String() != st2.Advertise().String() {
		t.Fatalf("Advertise = %v and %v: want shs:KEY, one key per transform", adv, st2.Advertise())
	}
	if st1.Advertise().String() != adv.String() {
		t.Fatal("a listener's key changed")
	}
	dial := func(tr *shs.Transform, sec msaddr.Section) (net.Conn, net.Conn, error, error) {
		ep, err := tr.Parse(sec)
		if err != nil {
			t.Fatalf("Parse(%s): %v", sec.Redacted(), err)
		}
		c1, c2 := tcpPair(t)
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := st1.Server(context.Background(), c2)
			ch <- res{c, err}
		}()
		cc, cerr := tr.Client(context.Background(), c1, ep)
		r := <-ch
		if cerr != nil {
			c1.Close()
		}
		if r.err != nil {
			c2.Close()
		}
		return cc, r.c, cerr, r.err
	}
	// A client with a nil identity: fresh key, admitted.
	cc, sc, cerr, serr := dial(newTransform(t, nil), adv)
	if cerr != nil || serr != nil {
		t.Fatalf("dial: %v / %v", cerr, serr)
	}
	if got := cc.(stack.Sectioner).RemoteSection(); got.String() != adv.String() {
		t.Errorf("client RemoteSection %v, want %v", got, adv)
	}
	if got, want := sc.(stack.Sectioner).RemoteSection(), cc.(stack.Sectioner).LocalSection(); got.String() != want.String() {
		t.Errorf("server RemoteSection %v, client LocalSection %v", got, want)
	}
	if sc.(stack.Peer).Auth() != 32 {
		t.Errorf("Auth = %v", sc.(stack.Peer).Auth())
	}
	if u := cc.(stack.Unwrapper).NetConn(); u == nil {
		t.Error("no NetConn")
	}
	cc.Close()
	sc.Close()
	// The client whose key Authorize refuses.
	_, _, cerr, serr = dial(newTransform(t, &shs.Config{Identity: clientKey}), adv)
	if !errors.Is(cerr, shs.ErrRejected) || !errors.Is(serr, authed) {
		t.Fatalf("refused client: %v / %v", cerr, serr)
	}
	// The same client with an invite seed is another key: admitted.
	seed := bytes.Repeat([]byte{0x33}, 32)
	withSeed := msaddr.Section{Name: "shs", Args: []string{adv.Args[0], shs.EncodeKey(seed)}}
	cc, sc, cerr, serr = dial(newTransform(t, &shs.Config{Identity: clientKey}), withSeed)
	if cerr != nil || serr != nil {
		t.Fatalf("seed dial: %v / %v", cerr, serr)
	}
	if !bytes.Equal(sc.(stack.Peer).RemoteKey(), ed25519.NewKeyFromSeed(seed)[32:]) {
		t.Error("server does not see the seed's key")
	}
	cc.Close()
	sc.Close()
}

func newTransform(t *testing.T, cfg *shs.Config) *shs.Transform {
	t.Helper()
	tr, err := shs.NewTransform(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestNewTransformChecksConfig: a Config no handshake could use is refused
// by NewTransform, naming the field, before any conn exists.
func TestNewTransformChecksConfig(t *testing.T) {
	badHalves := append(ed25519.PrivateKey(nil), clientKey...)
	badHalves[40] ^= 1
	for _, tt := range []struct {
		name  string
		cfg   *shs.Config
		field string
	}{
		{"short app key", &shs.Config{AppKey: []byte("short")}, "AppKey"},
		{"long app key", &shs.Config{AppKey: make([]byte, 33)}, "AppKey"},
		{"body too large", &shs.Config{MaxFrameSize: 70000}, "MaxFrameSize"},
		{"negative body", &shs.Config{MaxFrameSize: -1}, "MaxFrameSize"},
		{"identity length", &shs.Config{Identity: clientKey[:32]}, "Identity"},
		{"identity halves", &shs.Config{Identity: badHalves}, "Identity"},
	} {
		tr, err := shs.NewTransform(tt.cfg)
		if tr != nil || !errors.Is(err, shs.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: NewTransform = %v, %v; want nil and ErrInvalidConfig naming %s", tt.name, tr, err, tt.field)
		}
	}
	for i, cfg := range []*shs.Config{nil, {}, {AppKey: make([]byte, 32), MaxFrameSize: 4096, Identity: clientKey}} {
		if _, err := shs.NewTransform(cfg); err != nil {
			t.Errorf("good config %d: NewTransform: %v", i, err)
		}
	}
}

// TestEndpointHidesSeed: the endpoint Parse returns keeps the invite seed
// for Client and its Section, but never prints it.
func TestEndpointHidesSeed(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	seed := bytes.Repeat([]byte{0x5e}, 32)
	in := msaddr.Section{Name: "shs", Args: []string{shs.EncodeKey(pub), shs.EncodeKey(seed)}}
	ep, err := newTransform(t, nil).Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := ep.Section(); !got.Equal(in) {
		t.Errorf("Section() = %s, want %s", got.Redacted(), in.Redacted())
	}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v"} {
		out := fmt.Sprintf(verb, ep)
		if strings.Contains(out, shs.EncodeKey(seed)) || strings.Contains(out, "94 94") /* the bytes 0x5e in decimal */ {
			t.Errorf("%s of the endpoint = %q: shows the seed", verb, out)
		}
		if !strings.Contains(out, shs.EncodeKey(pub)) {
			t.Errorf("%s of the endpoint = %q: want the server key", verb, out)
		}
	}
}
