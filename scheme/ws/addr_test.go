package ws

import (
	"errors"
	"net"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"ws://127.0.0.1:8989", "ws://127.0.0.1:8989"},
		{"ws://EXAMPLE.com:80", "ws://example.com"},
		{"ws://example.com", "ws://example.com"},
		{"wss://example.com:443/", "wss://example.com/"},
		{"wss://example.com:80", "wss://example.com:80"},
		{"ws://example.com:443", "ws://example.com:443"},
		{"ws://[::1]:8080", "ws://[::1]:8080"},
		{"ws://[fe80::1%eth0]:8080", "ws://[fe80::1%eth0]:8080"},
		{"ws://[fe80::1%25eth0]:8080", "ws://[fe80::1%eth0]:8080"},
		{"ws://h:8989/path/to?x=1&y", "ws://h:8989/path/to?x=1&y"},
		{"ws://h/a:b", "ws://h/a:b"},
		{"ws://h:1/p?", "ws://h:1/p?"},
		// JavaScript's "ws:host:port" form, IPv6 bare or bracketed.
		{"ws:example.com:8989", "ws://example.com:8989"},
		{"ws:example.com:80", "ws://example.com"},
		{"ws:::1:8080", "ws://[::1]:8080"},
		{"ws:[::1]:8080", "ws://[::1]:8080"},
		{"wss:h:443", "wss://h"},
		// Errors.
		{"ws", ""},
		{"ws://user@h:1", ""},
		{"ws://user:pw@h:1", ""},
		{"ws://h:1#frag", ""},
		{"ws://h:99999", ""},
		{"ws://h:", ""},
		{"ws://h:0", ""},
		{"ws://:8080", ""},
		{"ws://", ""},
		{"ws://::1:80", ""},
		{"ws://h%20x:80", ""},
		{"ws:h", ""},
		{"ws:h:0", ""},
		{"ws:h:x", ""},
		{"ws:h:1/p", ""},
		{"ws:h^:1", ""},
		{"ws:::% :1", ""},                  // a zone no URL can carry (found by FuzzParse)
		{"ws://[fe80::1%25e%20th0]:1", ""}, // the same, escaped
		{"net:h:1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := msaddr.ParseSection(tt.in)
			if err != nil {
				t.Fatalf("msaddr.ParseSection: %v", err)
			}
			tr := New(nil)
			if s.Name == "wss" {
				tr = NewSecure(nil)
			}
			got, err := tr.Parse(s)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Parse = %q, want an error", got)
				}
				if !errors.Is(err, stack.ErrAddress) {
					t.Fatalf("Parse error %v does not wrap stack.ErrAddress", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Section().String() != tt.want {
				t.Fatalf("Parse = %q, want %q", got.Section(), tt.want)
			}
			again, err := tr.Parse(got.Section())
			if err != nil || !again.Section().Equal(got.Section()) {
				t.Fatalf("Parse(%q) = %v, %v; not a fixed point", got.Section(), again, err)
			}
		})
	}
}

func TestParseWrongScheme(t *testing.T) {
	s, _ := msaddr.ParseSection("wss://h:1")
	if _, err := New(nil).Parse(s); !errors.Is(err, stack.ErrAddress) {
		t.Fatalf("ws Parse(wss section) = %v, want stack.ErrAddress", err)
	}
}

func TestSection(t *testing.T) {
	tests := []struct {
		tr   *Transport
		a    net.Addr
		want string // "" means not ok
	}{
		{New(nil), &Addr{Host: "127.0.0.1:50122"}, "ws://127.0.0.1:50122"},
		{New(nil), &Addr{Host: "[::1]:8080"}, "ws://[::1]:8080"},
		{NewSecure(nil), &Addr{Secure: true, Host: "192.0.2.1:443"}, "wss://192.0.2.1:443"},
		{New(nil), &Addr{Secure: true, Host: "192.0.2.1:443"}, ""},
		{New(nil), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, ""},
		{New(nil), (*Addr)(nil), ""},
	}
	for _, tt := range tests {
		s, ok := tt.tr.Section(tt.a)
		if tt.want == "" {
			if ok {
				t.Errorf("Section(%v) = %q, want not ok", tt.a, s)
			}
			continue
		}
		if !ok || s.String() != tt.want {
			t.Errorf("Section(%v) = %q, %v; want %q", tt.a, s, ok, tt.want)
		}
	}
}

func TestAdvertiseForm(t *testing.T) {
	tests := []struct {
		tg   target
		want string
	}{
		{target{host: "example.com", port: 80}, "ws://example.com"},
		{target{host: "example.com", port: 443}, "ws://example.com:443"},
		{target{secure: true, host: "example.com", port: 443}, "wss://example.com"},
		{target{secure: true, host: "example.com", port: 80}, "wss://example.com:80"},
		{target{host: "::1", port: 8989}, "ws://[::1]:8989"},
		{target{host: "fe80::1%eth0", port: 8989}, "ws://[fe80::1%eth0]:8989"},
	}
	for _, tt := range tests {
		if got := tt.tg.section().String(); got != tt.want {
			t.Errorf("%+v: section %q, want %q", tt.tg, got, tt.want)
		}
	}
	if got, want := (target{host: "fe80::1%eth0", port: 80}).url(), "ws://[fe80::1%25eth0]"; got != want {
		t.Errorf("url() = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ws://127.0.0.1:8989", "wss://h/p?q=1", "ws:h:80", "ws:::1:8080", "ws://[fe80::1%eth0]:1",
		"ws://u@h", "ws://h:1#f", "ws://[::1", "ws://h:1/a!:b!~c", "wss", "ws:::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := msaddr.ParseSection(in)
		if err != nil {
			return
		}
		for _, secure := range []bool{false, true} {
			if _, err := parseTarget(s, secure, true); err != nil && !errors.Is(err, stack.ErrAddress) {
				t.Fatalf("listen parse %q: error %v does not wrap stack.ErrAddress", in, err)
			}
			tr := newTransport(secure, nil)
			got, err := tr.Parse(s)
			if err != nil {
				if !errors.Is(err, stack.ErrAddress) {
					t.Fatalf("Parse %q: error %v does not wrap stack.ErrAddress", in, err)
				}
				continue
			}
			re, err := msaddr.ParseSection(got.Section().String())
			if err != nil || !re.Equal(got.Section()) {
				t.Fatalf("Parse %q = %q, which does not reparse: %v", in, got.Section(), err)
			}
			again, err := tr.Parse(got.Section())
			if err != nil || !again.Section().Equal(got.Section()) {
				t.Fatalf("Parse %q = %q, whose Parse is %v, %v", in, got.Section(), again, err)
			}
		}
	})
}
