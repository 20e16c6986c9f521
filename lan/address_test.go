package lan

import (
	"crypto/ed25519"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

func TestCheckAddress(t *testing.T) {
	k := b64(alice.Public().(ed25519.PublicKey))
	for _, tt := range []struct {
		addr     string
		loopback bool
		ok       bool
	}{
		{"net:192.168.1.5:8008~shs:" + k, false, true},
		{"net:10.1.2.3:8008~shs:" + k + ";ws://10.1.2.3:8989~shs:" + k, false, true},
		{"wss://172.16.0.1:443/ssb~shs:" + k, false, true},
		{"net:fd00::5:8008~shs:" + k, false, true},
		{"net:[fd00::5]:8008~shs:" + k, false, true},
		{"net:fe80::1:8008~shs:" + k, false, true},
		{"net:169.254.1.1:8008~shs:" + k, false, true},
		{"net:127.0.0.1:8008~shs:" + k, true, true},
		{"net:127.0.0.1:8008~shs:" + k, false, false},
		{"net:::1:8008~shs:" + k, false, false},
		{"net:fe80::1%eth0:8008~shs:" + k, false, false},
		{"net:203.0.113.1:8008~shs:" + k, false, false},
		{"net:8.8.8.8:8008~shs:" + k, false, false},
		{"net:printer.local:8008~shs:" + k, false, false},
		{"net:192.168.1.5:8008~noauth", false, false},
		{"net:192.168.1.5:8008", false, false},
		{"net:192.168.1.5:8008~shs:" + k + "~noauth", false, false},
		{"unix:/home/alice/.ssb/socket~shs:" + k, true, false},
		{"unix:/home/alice/.ssb/socket~noauth", true, false},
		{"serial:/dev/ttyUSB0:115200~shs:" + k, true, false},
		{"onion:abc.onion:8008~shs:" + k, true, false},
		{"net:192.168.1.5:8008~shs:" + k + ";unix:/tmp/s~noauth", true, false},
		{"ws://evil.example/x~shs:" + k, false, false},
	} {
		err := CheckAddress(msaddr.MustParse(tt.addr), tt.loopback)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrScope)) {
			t.Errorf("CheckAddress(%s, loopback %v) = %v, want ok %v", tt.addr, tt.loopback, err, tt.ok)
		}
	}
	if err := CheckAddress(nil, true); !errors.Is(err, ErrScope) {
		t.Errorf("CheckAddress(nil) = %v", err)
	}
}

type fakeAdvertiser map[stack.Scope]string

func (f fakeAdvertiser) Address(sc stack.Scope) msaddr.Multi {
	if f[sc] == "" {
		return nil
	}
	return msaddr.MustParse(f[sc])
}

func TestListenerAddress(t *testing.T) {
	k := b64(alice.Public().(ed25519.PublicKey))
	adv := fakeAdvertiser{
		stack.Device:  "unix:/home/alice/.ssb/socket~noauth;net:127.0.0.1:8008~shs:" + k,
		stack.Private: "unix:/home/alice/.ssb/socket~shs:" + k + ";net:192.168.1.5:8008~shs:" + k + ";net:192.168.1.5:8009~noauth;net:127.0.0.1:8008~shs:" + k,
		stack.Local:   "net:192.168.1.5:8008~shs:" + k + ";ws://192.168.1.5:8989~shs:" + k,
		stack.Public:  "net:203.0.113.1:8008~shs:" + k,
	}
	got, err := (&Announcer{}).ListenerAddress(adv)
	if want := "net:192.168.1.5:8008~shs:" + k + ";ws://192.168.1.5:8989~shs:" + k; err != nil || got.String() != want {
		t.Errorf("ListenerAddress = %s, %v; want %s", got, err, want)
	}
	got, err = (&Announcer{AllowLoopback: true}).ListenerAddress(adv)
	if want := "net:192.168.1.5:8008~shs:" + k + ";net:127.0.0.1:8008~shs:" + k + ";ws://192.168.1.5:8989~shs:" + k; err != nil || got.String() != want {
		t.Errorf("ListenerAddress with AllowLoopback = %s, %v; want %s", got, err, want)
	}
	if got, err := (&Announcer{}).ListenerAddress(fakeAdvertiser{stack.Device: "net:127.0.0.1:8008~shs:" + k}); !errors.Is(err, ErrScope) {
		t.Errorf("device-only listener: %s, %v", got, err)
	}
}

func TestAnnounceConfig(t *testing.T) {
	good := addrOf("192.168.1.5", 8008, alice)
	for _, tt := range []struct {
		name string
		a    Announcer
		addr msaddr.Multi
		key  ed25519.PrivateKey
		want error
	}{
		{"device address", Announcer{}, addrOf("127.0.0.1", 8008, alice), alice, ErrScope},
		{"another key", Announcer{}, good, bob, ErrKeyMismatch},
		{"another key, legacy only", Announcer{Formats: []Format{Legacy}}, good, bob, ErrKeyMismatch},
		{"short key", Announcer{}, good, alice[:10], ErrConfig},
		{"bad app key", Announcer{AppKey: []byte{1}}, good, alice, ErrConfig},
		{"bad app key, legacy only", Announcer{AppKey: []byte{1}, Formats: []Format{Legacy}}, good, alice, ErrConfig},
		{"no formats", Announcer{Formats: []Format{}}, good, alice, ErrConfig},
		{"bad port", Announcer{Port: -1}, good, alice, ErrConfig},
	} {
		if err := tt.a.Announce(t.Context(), tt.addr, tt.key); !errors.Is(err, tt.want) {
			t.Errorf("%s: Announce = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestDestinationsOf(t *testing.T) {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast
	pfx := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		flags net.Flags
		pfx   []netip.Prefix
		want  []string
	}{
		{"wlan0", up, pfx("192.168.1.20/24", "fe80::1/64", "fd00::20/64"), []string{"192.168.1.255", "ff02::1%wlan0"}},
		{"eth0", up, pfx("10.1.2.3/8", "172.16.5.4/12"), []string{"10.255.255.255", "172.31.255.255"}},
		{"eth1", up, pfx("203.0.113.7/24"), nil},
		{"tun0", net.FlagUp | net.FlagPointToPoint, pfx("10.8.0.2/32", "fe80::2/64"), nil},
		{"lo", net.FlagUp | net.FlagLoopback, pfx("127.0.0.1/8", "::1/128"), nil},
		{"eth2", net.FlagBroadcast | net.FlagMulticast, pfx("192.168.2.2/24"), nil},
	} {
		var got []string
		for _, a := range destinationsOf(tt.name, tt.flags, tt.pfx) {
			got = append(got, a.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
