package multiserver_test

import (
	"context"
	"strings"
	"testing"

	ms "github.com/go-multiserver/multiserver"
)

// TestDialHostPortHint: ms.Dial given what net.Dial takes is told what a
// multiserver address looks like.
func TestDialHostPortHint(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.1:8080", "net:127.0.0.1:8080"},
		{"localhost:8080", "net:localhost:8080"},
		{"[::1]:8080", "net:::1:8080"},
	} {
		_, err := ms.Dial(context.Background(), tt.in)
		if err == nil || !strings.Contains(err.Error(), "a multiserver address names its transport, as in "+tt.want) {
			t.Errorf("Dial(%q): %v; want a hint with %s", tt.in, err, tt.want)
		}
	}
}

// TestAddressErrorOnePrefix: a bad port is reported with one generic
// prefix, not three ("multiserver: invalid address section: msaddr:
// invalid address: net: ...").
func TestAddressErrorOnePrefix(t *testing.T) {
	_, err := ms.Dial(context.Background(), "net:127.0.0.1:99999")
	if err == nil || !strings.Contains(err.Error(), "invalid address section: net: port 99999 out of range") || strings.Contains(err.Error(), "msaddr:") {
		t.Errorf("Dial: %v; want one prefix before net: port 99999 out of range", err)
	}
}
