package onion

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

const testOnion = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"

func TestParse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"onion:" + testOnion + ":8008", "onion:" + testOnion + ":8008"},
		{"onion:ABC.ONION:80", "onion:abc.onion:80"},
		{"onion:example.com:443", "onion:example.com:443"},
		{"onion:192.0.2.1:80", "onion:192.0.2.1:80"},
		{"onion:::1:80", "onion:::1:80"},
		{"onion:[2001:db8::1]:80", "onion:2001:db8::1:80"},
		{"onion", ""},
		{"onion:h", ""},
		{"onion::80", ""},
		{"onion:h:0", ""},
		{"onion:h:65536", ""},
		{"onion:h x:80", ""},
		{"onion:fe80::1%eth0:80", ""},
		{"net:h:80", ""},
	}
	tr := New(nil)
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := msaddr.ParseSection(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tr.Parse(s)
			if tt.want == "" {
				if !errors.Is(err, stack.ErrAddress) {
					t.Fatalf("Parse = %q, %v; want stack.ErrAddress", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := msaddr.ParseSection(tt.want)
			if !got.Section().Equal(want) {
				t.Fatalf("Parse = %q, want %q", got.Section(), want)
			}
		})
	}
}

func TestListenRefuses(t *testing.T) {
	s, _ := msaddr.ParseSection("onion:" + testOnion + ":8008")
	ln, err := New(nil).Listen(context.Background(), s, nil)
	if ln != nil || !errors.Is(err, stack.ErrNotSupported) {
		t.Fatalf("Listen = %v, %v; want stack.ErrNotSupported", ln, err)
	}
}

func TestSection(t *testing.T) {
	tr := New(nil)
	if s, ok := tr.Section(&Addr{Host: testOnion, Port: 8008}); !ok || s.String() != "onion:"+testOnion+":8008" {
		t.Fatalf("Section = %q, %v", s, ok)
	}
	if _, ok := tr.Section(&net.TCPAddr{}); ok {
		t.Fatal("Section accepted a TCP address")
	}
}

func TestConnectRequest(t *testing.T) {
	tests := []struct {
		host string
		want []byte
	}{
		{"ab.onion", []byte{5, 1, 0, 3, 8, 'a', 'b', '.', 'o', 'n', 'i', 'o', 'n', 0x1f, 0x48}},
		{"192.0.2.1", []byte{5, 1, 0, 1, 192, 0, 2, 1, 0x1f, 0x48}},
		{"::1", []byte{5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x48}},
	}
	for _, tt := range tests {
		if got := connectRequest(tt.host, 8008); !bytes.Equal(got, tt.want) {
			t.Errorf("connectRequest(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		code byte
		err  error // nil, ErrProtocol, or errAny for an I/O error
	}{
		{"ok-ipv4", []byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0, nil},
		{"ok-ipv6", append([]byte{5, 0, 0, 4}, make([]byte, 18)...), 0, nil},
		{"ok-name", []byte{5, 0, 0, 3, 1, 'x', 0, 80}, 0, nil},
		{"refused", []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}, 5, nil},
		{"tor-f0-short", []byte{5, 0xf0, 0, 1}, 0xf0, nil},
		{"version", []byte{4, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0, ErrProtocol},
		{"reserved", []byte{5, 0, 1, 1, 0, 0, 0, 0, 0, 0}, 0, ErrProtocol},
		{"atyp", []byte{5, 0, 0, 9, 0, 0, 0, 0, 0, 0}, 0, ErrProtocol},
		{"short", []byte{5, 0, 0, 1, 0}, 0, errAny},
		{"empty", nil, 0, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := readReply(bytes.NewReader(tt.in))
			switch {
			case tt.err == nil && err != nil, tt.err == errAny && err == nil, tt.err != nil && tt.err != errAny && !errors.Is(err, tt.err):
				t.Fatalf("readReply = %d, %v; want error %v", code, err, tt.err)
			}
			if err == nil && code != tt.code {
				t.Fatalf("code %#x, want %#x", code, tt.code)
			}
		})
	}
}

var errAny = errors.New("any error")

func FuzzReadReply(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{5, 0, 0, 3, 255})
	f.Add([]byte{5, 0xf6, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		code, err := readReply(r)
		if err == nil && code == 0 {
			min := map[byte]int{atypIPv4: 10, atypIPv6: 22, atypDomain: 7}[in[3]]
			if n := len(in) - r.Len(); min == 0 || n < min {
				t.Fatalf("accepted a %d-byte success reply of address type %d", n, in[3])
			}
		}
		if err != nil && code != 0 {
			t.Fatalf("code %d with error %v", code, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"onion:" + testOnion + ":8008", "onion:::1:80", "onion:[::1]:1", "onion:a:b:c", "onion"} {
		f.Add(s)
	}
	tr := New(nil)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := msaddr.ParseSection(in)
		if err != nil {
			return
		}
		got, err := tr.Parse(s)
		if err != nil {
			if !errors.Is(err, stack.ErrAddress) {
				t.Fatalf("Parse %q: %v does not wrap stack.ErrAddress", in, err)
			}
			return
		}
		again, err := tr.Parse(got.Section())
		if err != nil || !again.Section().Equal(got.Section()) {
			t.Fatalf("Parse %q = %q, whose Parse is %v, %v", in, got.Section(), again, err)
		}
		if req := connectRequest(got.(endpoint).a.Host, 1); len(req) > 4+1+255+2 {
			t.Fatalf("request of %d bytes", len(req))
		}
	})
}
