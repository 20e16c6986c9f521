package tcp

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"net:localhost:8008", "net:localhost:8008", nil},
		{"net:127.0.0.1:8008", "net:127.0.0.1:8008", nil},
		{"net:::1:8008", "net:::1:8008", nil},
		{"net:[::1]:8008", "net:::1:8008", nil}, // brackets accepted, never written
		{"net::::8008", "net::::8008", nil},
		{"net:fe80::1%eth0:8008", "net:fe80::1%eth0:8008", nil},
		{"net::8008", "net::8008", nil}, // empty host: localhost when dialing
		{"net:Example.COM:1", "net:Example.COM:1", nil},
		{"net:h:99999", "", stack.ErrAddress},
		{"net:h:0x10", "", stack.ErrAddress},
		{"net:h", "", stack.ErrAddress},
		{"net:::g:1", "", stack.ErrAddress},
		{"net:a b:1", "", stack.ErrAddress},
		{"net:[::1:1", "", stack.ErrAddress},
		{"ws://h:1", "", stack.ErrAddress},
	}
	tr := New(nil)
	for _, tt := range tests {
		s, err := msaddr.ParseSection(tt.in)
		if err != nil {
			t.Fatalf("ParseSection(%q): %v", tt.in, err)
		}
		got, err := tr.Parse(s)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got.Section().String() != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSection(t *testing.T) {
	tr := New(nil)
	tests := []struct {
		a    *net.TCPAddr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 55296}, "net:127.0.0.1:55296"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 54550}, "net:::1:54550"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, "net:fe80::1%eth0:1"},
	}
	for _, tt := range tests {
		s, ok := tr.Section(tt.a)
		if !ok || s.String() != tt.want {
			t.Errorf("Section(%v) = %q, %v; want %q", tt.a, s, ok, tt.want)
		}
	}
	if _, ok := tr.Section(&net.UnixAddr{Name: "/x", Net: "unix"}); ok {
		t.Error("Section accepted a unix address")
	}
}

func TestDialPortZero(t *testing.T) {
	tr := New(nil)
	ep, err := tr.Parse(msaddr.Section{Name: "net", Args: []string{"127.0.0.1", "0"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Dial(context.Background(), ep)
	if !errors.Is(err, stack.ErrAddress) {
		t.Fatalf("Dial port 0 = %v, want ErrAddress", err)
	}
}

func TestExternalAdvertisedForPublic(t *testing.T) {
	// JS test "net: external is an array": the public scope advertises the
	// external names, other scopes the bound address (if in scope).
	tr := New(&Options{External: []string{"domain.de", "funtime.net"}})
	ln, err := tr.Listen(context.Background(), msaddr.Section{Name: "net", Args: []string{"127.0.0.1", "0"}}, []stack.Scope{stack.Device, stack.Public})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Advertise(stack.Device)[0].Args[1]
	pub := ln.Advertise(stack.Public)
	if len(pub) != 2 || pub[0].String() != "net:domain.de:"+port || pub[1].String() != "net:funtime.net:"+port {
		t.Errorf("Advertise(public) = %v", pub)
	}
	if got := ln.Advertise(stack.Local); got != nil {
		t.Errorf("Advertise(local) = %v, want nil", got)
	}
}
