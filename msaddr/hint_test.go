package msaddr

import (
	"errors"
	"strings"
	"testing"
)

// TestHostPortHint: a plain host:port, as net.Dial takes it, is answered
// with the multiserver form; anything else gets no hint.
func TestHostPortHint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:8080", "net:127.0.0.1:8080"},
		{"[::1]:8008", "net:::1:8008"},
		{"example.com:8008", "net:example.com:8008"},
		{"localhost:8080", "net:localhost:8080"},
		{"net:h:1", ""},          // names its transport: "net:h" is no host
		{"::1", ""},              // no port
		{"h:99999", ""},          // not a port
		{"ws://h:80", ""},        // a URL
		{"net:h:1~shs:K", ""},    // an address
		{":8080", ""},            // no host
		{"127.0.0.1:8080;x", ""}, // alternatives
	}
	for _, tt := range tests {
		got := HostPortHint(tt.in)
		if tt.want == "" && got != "" || tt.want != "" && !strings.HasSuffix(got, "as in "+tt.want) {
			t.Errorf("HostPortHint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	_, err := Parse("127.0.0.1:8080")
	if err == nil || !strings.Contains(err.Error(), "as in net:127.0.0.1:8080") {
		t.Errorf("Parse(127.0.0.1:8080): %v; want the hint", err)
	}
}

// TestHostPortErrorPrefix: a bad field is ErrSyntax, and its message says
// the section and the field without the package's generic prefix, which
// the plugin reporting it adds in its own words.
func TestHostPortErrorPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"net:h:99999": "net: port 99999 out of range",
		"net:h":       "net: want net:HOST:PORT",
		"net:h:x":     "net: port \"x\" is not a decimal number",
		"ws:[h]:1":    "ws: brackets around a host that is not IPv6: \"h\"",
	} {
		s, err := ParseSection(in)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = HostPort(s)
		if !errors.Is(err, ErrSyntax) || err.Error() != want {
			t.Errorf("HostPort(%s): %q (ErrSyntax %v); want %q", in, err, errors.Is(err, ErrSyntax), want)
		}
	}
}
