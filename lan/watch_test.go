package lan

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
)

func newTestTracker(t *testing.T, w *Watcher) *tracker {
	t.Helper()
	tr, err := w.newTracker()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var (
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	alice = keyFromSeed("alice")
	bob   = keyFromSeed("bob")
)

func addrOf(host string, port int, priv ed25519.PrivateKey) msaddr.Multi {
	return msaddr.Multi{{msaddr.HostPortSection("net", host, port), {Name: "shs", Args: []string{b64(priv.Public().(ed25519.PublicKey))}}}}
}

func src(s string) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(s), 40000) }

func mustSeal(t *testing.T, m msaddr.Multi, priv ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := Seal(m, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrackerReportsOnceAndUpgrades(t *testing.T) {
	tr := newTestTracker(t, &Watcher{})
	m := addrOf("192.168.1.5", 8008, alice)
	legacy := []byte(m.String())
	signed := mustSeal(t, m, alice)
	from := src("192.168.1.5")
	steps := []struct {
		f        Format
		b        []byte
		report   bool
		verified bool
	}{
		{Legacy, legacy, true, false},
		{Legacy, legacy, false, false},
		{Signed, signed, true, true},
		{Signed, signed, false, false},
		{Legacy, legacy, false, false},
	}
	for i, s := range steps {
		p, ok, err := tr.handle(t0.Add(time.Duration(i)*2*time.Second), from, s.f, s.b)
		if err != nil || ok != s.report || (ok && p.Verified != s.verified) {
			t.Fatalf("step %d: %+v, %v, %v", i, p, ok, err)
		}
		if ok && (p.Source != from || p.Format != s.f || !p.Key.Equal(alice.Public())) {
			t.Errorf("step %d: %+v", i, p)
		}
	}
}

func TestTrackerRefuses(t *testing.T) {
	m := addrOf("192.168.1.5", 8008, alice)
	for _, tt := range []struct {
		name string
		w    Watcher
		from string
		f    Format
		b    []byte
		want error
	}{
		{"legacy from another host", Watcher{}, "192.168.1.6", Legacy, []byte(m.String()), ErrSource},
		{"device scope: loopback host", Watcher{}, "127.0.0.1", Signed, mustSeal(t, addrOf("127.0.0.1", 8008, alice), alice), ErrScope},
		{"device scope: unix", Watcher{AnyLegacySource: true}, "192.168.1.5", Legacy, []byte("unix:/home/alice/.ssb/socket~shs:" + b64(alice.Public().(ed25519.PublicKey))), ErrScope},
		{"device scope: noauth", Watcher{}, "192.168.1.5", Legacy, []byte("net:192.168.1.5:8008~noauth;net:192.168.1.5:8009~shs:" + b64(alice.Public().(ed25519.PublicKey))), ErrScope},
		{"public host", Watcher{}, "203.0.113.9", Signed, mustSeal(t, addrOf("203.0.113.9", 8008, alice), alice), ErrScope},
		{"host name", Watcher{AnyLegacySource: true}, "192.168.1.5", Legacy, []byte("net:evil.example:8008~shs:" + b64(alice.Public().(ed25519.PublicKey))), ErrScope},
		{"zone", Watcher{AnyLegacySource: true}, "192.168.1.5", Legacy, []byte("net:fe80::1%eth0:8008~shs:" + b64(alice.Public().(ed25519.PublicKey))), ErrScope},
		{"garbage", Watcher{}, "192.168.1.5", Signed, []byte("garbage"), ErrMalformed},
		{"oversize", Watcher{}, "192.168.1.5", Legacy, make([]byte, MaxDatagramSize+1), ErrTooLarge},
		{"wrong signature", Watcher{}, "192.168.1.5", Signed, func() []byte {
			b := mustSeal(t, m, alice)
			b[len(b)-10] ^= 0x40
			return b
		}(), ErrSignature},
	} {
		tr := newTestTracker(t, &tt.w)
		if p, ok, err := tr.handle(t0, src(tt.from), tt.f, tt.b); !errors.Is(err, tt.want) || ok {
			t.Errorf("%s: %+v, %v, %v; want %v", tt.name, p, ok, err, tt.want)
		}
	}
	// The defaults relaxed: loopback and any legacy source.
	tr := newTestTracker(t, &Watcher{AllowLoopback: true, AnyLegacySource: true})
	if _, ok, err := tr.handle(t0, src("127.0.0.1"), Signed, mustSeal(t, addrOf("127.0.0.1", 8008, alice), alice)); !ok || err != nil {
		t.Errorf("AllowLoopback: %v, %v", ok, err)
	}
	if p, ok, err := tr.handle(t0, src("192.168.1.6"), Legacy, []byte(m.String())); !ok || err != nil || p.Verified {
		t.Errorf("AnyLegacySource: %+v, %v, %v", p, ok, err)
	}
}

func TestTrackerIgnoresSelf(t *testing.T) {
	tr := newTestTracker(t, &Watcher{Self: alice.Public().(ed25519.PublicKey)})
	m := addrOf("192.168.1.5", 8008, alice)
	if p, ok, err := tr.handle(t0, src("192.168.1.5"), Signed, mustSeal(t, m, alice)); ok || err != nil {
		t.Errorf("own announcement: %+v, %v, %v", p, ok, err)
	}
}

func TestTrackerRatePerSource(t *testing.T) {
	tr := newTestTracker(t, &Watcher{RatePerSource: 3, AnyLegacySource: true})
	b := []byte(addrOf("192.168.1.5", 8008, alice).String())
	for i := range 5 {
		_, _, err := tr.handle(t0.Add(time.Duration(i)*time.Millisecond), src("192.168.1.5"), Legacy, b)
		if (i >= 3) != errors.Is(err, ErrRate) {
			t.Errorf("datagram %d in the first second: %v", i+1, err)
		}
	}
	// Another source is not limited by the first one.
	if _, _, err := tr.handle(t0.Add(5*time.Millisecond), src("192.168.1.6"), Legacy, b); err != nil {
		t.Errorf("other source: %v", err)
	}
	// A second later the source may send again.
	if _, _, err := tr.handle(t0.Add(time.Second), src("192.168.1.5"), Legacy, b); err != nil {
		t.Errorf("next second: %v", err)
	}
	// The number of sources counted in one second is bounded too.
	tr = newTestTracker(t, &Watcher{})
	var refused int
	for i := range maxSources + 10 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if _, _, err := tr.handle(t0, netip.AddrPortFrom(ip, 1), Legacy, []byte("x")); errors.Is(err, ErrRate) {
			refused++
		}
	}
	if refused != 10 || len(tr.counts) != maxSources {
		t.Errorf("%d sources in one second: %d refused, %d counted", maxSources+10, refused, len(tr.counts))
	}
}

func TestTrackerMaxPeers(t *testing.T) {
	tr := newTestTracker(t, &Watcher{MaxPeers: 3})
	var keys []ed25519.PrivateKey
	for i := range 5 {
		k := keyFromSeed(fmt.Sprint("peer", i))
		keys = append(keys, k)
		_, ok, err := tr.handle(t0.Add(time.Duration(i)*time.Second), src("192.168.1.5"), Signed, mustSeal(t, addrOf("192.168.1.5", 8000+i, k), k))
		if !ok || err != nil {
			t.Fatalf("peer %d: %v, %v", i, ok, err)
		}
		if len(tr.peers) > 3 {
			t.Fatalf("%d peers remembered, bound 3", len(tr.peers))
		}
	}
	// Peers 3 and 4 are remembered, peer 0 (least recently heard) was
	// forgotten and is reported again.
	if _, ok, _ := tr.handle(t0.Add(10*time.Second), src("192.168.1.5"), Signed, mustSeal(t, addrOf("192.168.1.5", 8004, keys[4]), keys[4])); ok {
		t.Error("remembered peer 4 reported again")
	}
	if _, ok, _ := tr.handle(t0.Add(11*time.Second), src("192.168.1.5"), Signed, mustSeal(t, addrOf("192.168.1.5", 8000, keys[0]), keys[0])); !ok {
		t.Error("forgotten peer 0 not reported again")
	}
}

func TestWatcherConfig(t *testing.T) {
	for _, w := range []*Watcher{
		{AppKey: make([]byte, 16)},
		{Self: make([]byte, 3)},
		{Formats: []Format{}},
		{Formats: []Format{7}},
		{Port: 70000},
	} {
		if err := w.Watch(t.Context(), func(Peer) {}); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: Watch = %v, want ErrConfig", w, err)
		}
	}
}

// FuzzTracker feeds arbitrary datagrams of both formats to the checks a
// Watcher applies: nothing panics, and whatever is reported passed them.
func FuzzTracker(f *testing.F) {
	m := addrOf("192.168.1.5", 8008, alice)
	f.Add(true, []byte(m.String()))
	sealed, _ := Seal(m, alice, nil)
	f.Add(false, sealed)
	f.Add(false, []byte("garbage"))
	f.Add(true, []byte("net:192.168.1.5:8008~shs:"+b64(bob.Public().(ed25519.PublicKey))+";unix:/x~noauth"))
	f.Fuzz(func(t *testing.T, legacy bool, b []byte) {
		tr, err := (&Watcher{AllowLoopback: true}).newTracker()
		if err != nil {
			t.Fatal(err)
		}
		fm := Signed
		if legacy {
			fm = Legacy
		}
		p, ok, err := tr.handle(t0, src("192.168.1.5"), fm, b)
		if err != nil && ok {
			t.Fatal("reported with an error")
		}
		if !ok {
			return
		}
		if CheckAddress(p.Address, true) != nil || len(p.Key) != ed25519.PublicKeySize || p.Verified != !legacy {
			t.Fatalf("reported %+v", p)
		}
		if !legacy {
			if _, err := Open(b, nil); err != nil {
				t.Fatalf("reported a signed datagram Open refuses: %v", err)
			}
		}
	})
}
