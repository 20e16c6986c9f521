package msaddr

import (
	"errors"
	"strings"
	"testing"
)

func sec(name string, args ...string) Section { return Section{Name: name, Args: args} }

const key = "+y42DK+BGzqvU00EWMKiyj4fITskSm+Drxq1Dt2s3Yw="

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Multi
		out  string // canonical String(); "" means same as in
	}{
		// Forms the JavaScript plugins write (js-multiserver.md §1.3, §7).
		{in: "net:localhost:4848", want: Multi{{sec("net", "localhost", "4848")}}},
		{in: "net:::1:8008", want: Multi{{sec("net", "", "", "1", "8008")}}},
		{in: "net::::8008", want: Multi{{sec("net", "", "", "", "8008")}}},
		{in: "net:fe80::1%eth0:8008", want: Multi{{sec("net", "fe80", "", "1%eth0", "8008")}}},
		{in: "net:[::1]:8008", want: Multi{{sec("net", "[", "", "1]", "8008")}}},
		{in: "net:fe80::1065:74a4:4016:6266:4849~shs:" + key, want: Multi{{sec("net", "fe80", "", "1065", "74a4", "4016", "6266", "4849"), sec("shs", key)}}},
		{in: "ws://localhost:4849", want: Multi{{sec("ws", "//localhost", "4849")}}},
		{in: "ws://domain.de", want: Multi{{sec("ws", "//domain.de")}}},
		{in: "wss://domain.de:9966~shs:" + key, want: Multi{{sec("wss", "//domain.de", "9966"), sec("shs", key)}}},
		{in: "ws://[::1]:8080", want: Multi{{sec("ws", "//[", "", "1]", "8080")}}},
		{in: "ws://example.com:8989/path?x=1~shs:" + key, want: Multi{{sec("ws", "//example.com", "8989/path?x=1"), sec("shs", key)}}},
		{in: "ws:host:8989", want: Multi{{sec("ws", "host", "8989")}}},
		{in: "unix:/tmp/multiserver-x/socket~noauth", want: Multi{{sec("unix", "/tmp/multiserver-x/socket"), sec("noauth")}}},
		{in: "onion:3234j5sv346bpih2.onion:2349", want: Multi{{sec("onion", "3234j5sv346bpih2.onion", "2349")}}},
		{in: "shs:" + key + ":" + key, want: Multi{{sec("shs", key, key)}}},
		{in: "noauth", want: Multi{{sec("noauth")}}},
		{in: "net:domain.de:9966~shs:" + key + ";net:funtime.net:9966~shs:" + key,
			want: Multi{{sec("net", "domain.de", "9966"), sec("shs", key)}, {sec("net", "funtime.net", "9966"), sec("shs", key)}}},
		{in: "fake:peer.ignore~nul:what;net:localhost:4848~shs:" + key,
			want: Multi{{sec("fake", "peer.ignore"), sec("nul", "what")}, {sec("net", "localhost", "4848"), sec("shs", key)}}},
		{in: "net:127.0.0.1:55296~shs:" + key + ";unix:/run/app.sock~noauth;ws://example.com:8989~shs:" + key,
			want: Multi{{sec("net", "127.0.0.1", "55296"), sec("shs", key)}, {sec("unix", "/run/app.sock"), sec("noauth")}, {sec("ws", "//example.com", "8989"), sec("shs", key)}}},
		// Escapes.
		{in: "net:ex!~ample.com:8008~shs:K", want: Multi{{sec("net", "ex~ample.com", "8008"), sec("shs", "K")}}},
		{in: "net:h!:x:1", want: Multi{{sec("net", "h:x", "1")}}},
		{in: "unix:/a!;b", want: Multi{{sec("unix", "/a;b")}}},
		{in: "x:!!", want: Multi{{sec("x", "!")}}},
		{in: "serial:/dev/serial/by-path/pci-0000!:00!:14.0-usb-0!:2:115200", want: Multi{{sec("serial", "/dev/serial/by-path/pci-0000:00:14.0-usb-0:2", "115200")}}},
		// Empty fields are kept.
		{in: "shs:::", want: Multi{{sec("shs", "", "", "")}}},
		{in: "net:", want: Multi{{sec("net", "")}}},
		{in: "a-1:x y", want: Multi{{sec("a-1", "x y")}}},
		{in: "unix:/tmp/ünïcode", want: Multi{{sec("unix", "/tmp/ünïcode")}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		out := tt.out
		if out == "" {
			out = tt.in
		}
		if s := got.String(); s != out {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, out)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		reason string
	}{
		{"", 0, "empty address"},
		{";", 0, "empty section"},
		{"net:h:1;", 7, "trailing ';'"},
		{"net:h:1;;unix:/x", 8, "empty section"},
		{"net:h:1~", 7, "trailing '~'"},
		{"net:h:1~~shs:k", 8, "empty section"},
		{"Net:h:1", 0, "must start with a lowercase letter"},
		{"1net:h:1", 0, "must start with a lowercase letter"},
		{"ne.t:h:1", 2, "may hold only"},
		{" net:h:1", 0, "must start with a lowercase letter"},
		{"net:h:1!", 7, "escapes nothing"},
		{"net:h!x:1", 5, "may escape only"},
		{"net:h\x00:1", 5, "control character"},
		{"net:h\n:1", 5, "control character"},
		{"net:h\xff:1", 5, "invalid UTF-8"},
		{"net:h:1~shs:k;:x", 14, "must start with a lowercase letter"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v, want *SyntaxError", tt.in, err)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): error does not wrap ErrSyntax", tt.in)
		}
		if se.Offset != tt.offset || !strings.Contains(se.Reason, tt.reason) {
			t.Errorf("Parse(%q) = offset %d reason %q; want offset %d reason containing %q", tt.in, se.Offset, se.Reason, tt.offset, tt.reason)
		}
		if !strings.Contains(err.Error(), "byte") {
			t.Errorf("Parse(%q) error %q does not say where", tt.in, err)
		}
	}
}

func TestParseAddressAndSection(t *testing.T) {
	if _, err := ParseAddress("net:h:1;net:h:2"); err == nil || err.(*SyntaxError).Offset != 7 {
		t.Errorf("ParseAddress with ';' = %v, want error at 7", err)
	}
	a, err := ParseAddress("net:h:1~shs:k")
	if err != nil || len(a) != 2 || a.Transport().Name != "net" || len(a.Transforms()) != 1 {
		t.Errorf("ParseAddress = %v, %v", a, err)
	}
	if _, err := ParseSection("net:h:1~shs:k"); err == nil {
		t.Error("ParseSection accepted two sections")
	}
	s, err := ParseSection("shs:k:s")
	if err != nil || !s.Equal(sec("shs", "k", "s")) {
		t.Errorf("ParseSection = %v, %v", s, err)
	}
}

func TestFormatEscapes(t *testing.T) {
	m := Multi{{sec("unix", "/a:b;c~d!e"), sec("noauth")}}
	want := "unix:/a!:b!;c!~d!!e~noauth"
	if got := m.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	back, err := Parse(want)
	if err != nil || !back.Equal(m) {
		t.Fatalf("round trip: %v, %v", back, err)
	}
	if Escape("a:b") != "a!:b" {
		t.Errorf("Escape")
	}
}

func TestHostPort(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
		err  bool
	}{
		{"net:localhost:4848", "localhost", 4848, false},
		{"net:::1:8008", "::1", 8008, false},
		{"net::::8008", "::", 8008, false},
		{"net:[::1]:8008", "::1", 8008, false},
		{"net:fe80::1%eth0:8008", "fe80::1%eth0", 8008, false},
		{"net::0", "", 0, false},
		{"net:h:65535", "h", 65535, false},
		{"net:h:65536", "", 0, true},
		{"net:h:0x10", "", 0, true},
		{"net:h:1e3", "", 0, true},
		{"net:h: 12", "", 0, true},
		{"net:h:", "", 0, true},
		{"net:h", "", 0, true},
		{"net", "", 0, true},
		{"net:[h]:1", "", 0, true},
		{"net:[::1:1", "", 0, true},
		{"net:h]:1", "", 0, true},
	}
	for _, tt := range tests {
		s, err := ParseSection(tt.in)
		if err != nil {
			t.Fatalf("ParseSection(%q): %v", tt.in, err)
		}
		host, port, err := HostPort(s)
		if (err != nil) != tt.err {
			t.Errorf("HostPort(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("HostPort(%q) error %v does not wrap ErrSyntax", tt.in, err)
			}
			continue
		}
		if host != tt.host || port != tt.port {
			t.Errorf("HostPort(%q) = %q, %d; want %q, %d", tt.in, host, port, tt.host, tt.port)
		}
	}
	if got := HostPortSection("net", "::1", 8008).String(); got != "net:::1:8008" {
		t.Errorf("HostPortSection = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"net:localhost:4848~shs:" + key, "net:::1:8008", "ws://example.com:8989/path?x=1~shs:" + key,
		"unix:/a!:b!;c!~d!!e~noauth", "a;b", "shs:::", "net:h!x", "x:!", "fake:peer.ignore~nul:what;net:h:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("Parse(%q): bad error %v", s, err)
			}
			return
		}
		out := m.String()
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q does not parse: %v", s, out, err)
		}
		if !m.Equal(m2) {
			t.Fatalf("round trip of %q via %q: %#v != %#v", s, out, m, m2)
		}
		if out2 := m2.String(); out2 != out {
			t.Fatalf("String not stable: %q then %q", out, out2)
		}
	})
}

func TestClone(t *testing.T) {
	m := MustParse("net:h:1~shs:k;unix:/x")
	c := m.Clone()
	c[0][0].Args[0] = "changed"
	c[1] = Address{sec("x")}
	if m.String() != "net:h:1~shs:k;unix:/x" {
		t.Fatalf("Clone shares memory with the original: %q", m)
	}
}
