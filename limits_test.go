package multiserver

import (
	"net"
	"net/netip"
	"testing"
)

// strAddr is a net.Addr that is only a string, as other transports' are.
type strAddr string

func (a strAddr) Network() string { return "x" }
func (a strAddr) String() string  { return string(a) }

func TestSourceOf(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string // "" = no IP source
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 1, Zone: ""}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, "fe80::/64"},
		{&net.UDPAddr{IP: net.ParseIP("198.51.100.1"), Port: 1}, "198.51.100.1/32"},
		{strAddr("ws://192.0.2.9:50122"), "192.0.2.9/32"},
		{strAddr("wss://[2001:db8::1]:443"), "2001:db8::/64"},
		{strAddr("ws://192.0.2.10"), "192.0.2.10/32"}, // X-Forwarded-For, no port
		{strAddr("[2001:db8::2]"), "2001:db8::/64"},
		{&net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, ""},
		{strAddr("ws://example.org:80"), ""},
		{strAddr(""), ""},
		{nil, ""},
		{&net.TCPAddr{}, ""},
	}
	for _, tt := range tests {
		p, ok := sourceOf(tt.addr)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tt.want {
			t.Errorf("sourceOf(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestSourceLimiter(t *testing.T) {
	l := newSourceLimiter(2)
	a := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}
	b := &net.TCPAddr{IP: net.ParseIP("2001:db8::2"), Port: 2} // same /64
	c := &net.TCPAddr{IP: net.ParseIP("2001:db8:0:1::1"), Port: 3}
	r1, ok1 := l.acquire(a)
	r2, ok2 := l.acquire(b)
	_, ok3 := l.acquire(a)
	r4, ok4 := l.acquire(c)
	if !ok1 || !ok2 || ok3 || !ok4 {
		t.Fatalf("acquire = %v %v %v %v, want true true false true", ok1, ok2, ok3, ok4)
	}
	r1()
	r5, ok5 := l.acquire(b)
	if !ok5 {
		t.Fatal("no slot after a release")
	}
	r2()
	r4()
	r5()
	if len(l.n) != 0 {
		t.Errorf("%d sources left after all releases", len(l.n))
	}
	// Unix peers and a nil limiter are never limited.
	for range 3 {
		if _, ok := l.acquire(&net.UnixAddr{Name: "@x", Net: "unix"}); !ok {
			t.Fatal("unix peer limited")
		}
		if _, ok := (*sourceLimiter)(nil).acquire(a); !ok {
			t.Fatal("nil limiter refused")
		}
	}
}

func FuzzSourceOf(f *testing.F) {
	for _, s := range []string{"ws://192.0.2.9:50122", "wss://[2001:db8::1]:443", "[fe80::1%eth0]:1", "1.2.3.4", "::ffff:1.2.3.4", "ws://", "[", "x://[::]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := sourceOf(strAddr(s))
		if !ok {
			return
		}
		if !p.IsValid() || p != p.Masked() {
			t.Fatalf("sourceOf(%q) = %v, not a masked prefix", s, p)
		}
		if want := map[bool]int{true: 32, false: ipv6SourceBits}[p.Addr().Is4()]; p.Bits() != want {
			t.Fatalf("sourceOf(%q) = %v, want a /%d", s, p, want)
		}
		if p.Addr().Zone() != "" || p.Addr().Is4In6() {
			t.Fatalf("sourceOf(%q) = %v: zone or 4in6 kept", s, p)
		}
		// The same host with another port is the same source.
		if ap, err := netip.ParseAddrPort(s); err == nil {
			q, ok := sourceOf(strAddr(netip.AddrPortFrom(ap.Addr(), ap.Port()+1).String()))
			if !ok || q != p {
				t.Fatalf("%q and the same host on another port: %v, %v", s, p, q)
			}
		}
	})
}
