package stack

import (
	"errors"

	"github.com/go-multiserver/multiserver/internal/ifaddrs"
	"net/netip"
	"slices"
	"testing"
)

// fakeInterfaces replaces InterfaceAddrs for one test with a machine that
// has a private IPv4, a link-local IPv6 with a zone, a unique-local IPv6
// and a public IPv4, in that order.
func fakeInterfaces(t *testing.T) {
	t.Helper()
	all := []netip.Addr{
		netip.MustParseAddr("192.168.1.20"),
		netip.MustParseAddr("fe80::1065:74a4:4016:6266%wlan0"),
		netip.MustParseAddr("fd00::2"),
		netip.MustParseAddr("203.0.113.7"),
		netip.MustParseAddr("2001:db8::7"),
	}
	t.Cleanup(ifaddrs.Replace(func(s string) []netip.Addr {
		var out []netip.Addr
		for _, ip := range all {
			if Scope(s).Fits(ip) {
				out = append(out, ip)
			}
		}
		return out
	}))
}

func TestScopeFits(t *testing.T) {
	tests := []struct {
		ip                    string
		device, local, public bool
	}{
		{"127.0.0.1", true, false, false},
		{"::1", true, false, false},
		{"::ffff:127.0.0.1", true, false, false},
		{"10.1.2.3", false, true, false},
		{"172.16.0.1", false, true, false},
		{"192.168.0.1", false, true, false},
		{"169.254.1.1", false, true, false},
		{"fe80::1", false, true, false},
		{"fd00::2", false, true, false},
		{"8.8.8.8", false, false, true},
		{"192.0.2.2", false, false, true}, // TEST-NET counts as public, as in the JS "ip" package
		{"2001:db8::1", false, false, true},
		{"0.0.0.0", false, false, false},
		{"::", false, false, false},
		{"224.0.0.1", false, false, false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := Device.Fits(ip); got != tt.device {
			t.Errorf("Device.Fits(%s) = %v", tt.ip, got)
		}
		if got := Local.Fits(ip); got != tt.local {
			t.Errorf("Local.Fits(%s) = %v", tt.ip, got)
		}
		if got := Private.Fits(ip); got != tt.local {
			t.Errorf("Private.Fits(%s) = %v", tt.ip, got)
		}
		if got := Public.Fits(ip); got != tt.public {
			t.Errorf("Public.Fits(%s) = %v", tt.ip, got)
		}
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range []string{"device", "local", "private", "public"} {
		if got, err := ParseScope(s); err != nil || string(got) != s {
			t.Errorf("ParseScope(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Device", "galaxy"} {
		if _, err := ParseScope(s); !errors.Is(err, ErrScope) {
			t.Errorf("ParseScope(%q) error = %v, want ErrScope", s, err)
		}
	}
}

func TestBindHost(t *testing.T) {
	fakeInterfaces(t)
	tests := []struct {
		scopes []Scope
		want   string
		err    bool
	}{
		{nil, "127.0.0.1", false},
		{[]Scope{Device}, "127.0.0.1", false},
		{[]Scope{Local}, "192.168.1.20", false},
		{[]Scope{Private}, "192.168.1.20", false},
		{[]Scope{Local, Private}, "192.168.1.20", false},
		{[]Scope{Public}, "203.0.113.7", false},
		// The JS net plugin binds all interfaces here; we refuse to guess.
		{[]Scope{Device, Local}, "", true},
		{[]Scope{Local, Public}, "", true},
	}
	for _, tt := range tests {
		got, err := BindHost(tt.scopes)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("BindHost(%v) = %q, %v; want %q (error %v)", tt.scopes, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrScope) {
			t.Errorf("BindHost(%v) error %v does not wrap ErrScope", tt.scopes, err)
		}
	}
}

func TestBindHostNoInterface(t *testing.T) {
	t.Cleanup(ifaddrs.Replace(func(string) []netip.Addr { return nil }))
	// ssb-server #578: scope public without a public IP must not bind
	// every interface.
	if h, err := BindHost([]Scope{Public}); !errors.Is(err, ErrScope) {
		t.Errorf("BindHost(public) without a public address = %q, %v; want ErrScope", h, err)
	}
}

func TestAdvertiseHosts(t *testing.T) {
	fakeInterfaces(t)
	tests := []struct {
		bound string
		scope Scope
		want  []string
	}{
		{"127.0.0.1", Device, []string{"127.0.0.1"}},
		{"0.0.0.0", Device, []string{"127.0.0.1"}},
		{"::", Device, []string{"127.0.0.1", "::1"}},
		{"0.0.0.0", Local, []string{"192.168.1.20"}},
		// The zone names an interface of this machine: dropped outside
		// device scope (JS test "stringify() does not show scopeid").
		{"::", Local, []string{"192.168.1.20", "fe80::1065:74a4:4016:6266", "fd00::2"}},
		{"::", Public, []string{"203.0.113.7", "2001:db8::7"}},
		{"0.0.0.0", Public, []string{"203.0.113.7"}},
		{"fe80::1065:74a4:4016:6266%wlan0", Private, []string{"fe80::1065:74a4:4016:6266"}},
		{"fe80::1%eth0", Device, []string{"fe80::1%eth0"}},
		{"::ffff:10.0.0.1", Local, []string{"10.0.0.1"}},
	}
	for _, tt := range tests {
		got := AdvertiseHosts(netip.MustParseAddr(tt.bound), tt.scope)
		if !slices.Equal(got, tt.want) {
			t.Errorf("AdvertiseHosts(%s, %s) = %q, want %q", tt.bound, tt.scope, got, tt.want)
		}
	}
}

func TestHasScope(t *testing.T) {
	if !HasScope([]Scope{Local}, Private) || !HasScope([]Scope{Private}, Local) {
		t.Error("local and private must be the same scope")
	}
	if HasScope([]Scope{Device}, Public) || HasScope(nil, Device) {
		t.Error("HasScope matched a scope that is not there")
	}
}

func TestIfaceRank(t *testing.T) {
	// JS multiserver-scopes: IPv4 wl > en > eth > IPv6 wl > en > eth > tun4 > tun6 > rest.
	order := []struct {
		name string
		v4   bool
	}{{"wlan0", true}, {"enp3s0", true}, {"eth0", true}, {"wlan0", false}, {"enp3s0", false}, {"eth0", false}, {"tun0", true}, {"tun0", false}, {"docker0", true}}
	for i := 1; i < len(order); i++ {
		a, b := ifaceRank(order[i-1].name, order[i-1].v4), ifaceRank(order[i].name, order[i].v4)
		if a >= b {
			t.Errorf("rank(%v) = %d is not before rank(%v) = %d", order[i-1], a, order[i], b)
		}
	}
}
