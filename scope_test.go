package multiserver_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/ifaddrs"
	"github.com/go-multiserver/multiserver/stack"
)

// TestAddressPerScope binds all interfaces explicitly and checks that each
// scope advertises the interface addresses fitting it, and that the
// listener's Addr holds them all.
func TestAddressPerScope(t *testing.T) {
	t.Cleanup(ifaddrs.Replace(func(s string) []netip.Addr {
		var out []netip.Addr
		for _, a := range []string{"192.168.1.20", "203.0.113.7"} {
			if ip := netip.MustParseAddr(a); stack.Scope(s).Fits(ip) {
				out = append(out, ip)
			}
		}
		return out
	}))

	lc := &ms.ListenConfig{Config: helloCfg, Scopes: []ms.Scope{ms.Device, ms.Local, ms.Public}}
	ln := listen(t, lc, "net:0.0.0.0:0~hello")
	port := ln.Address(ms.Device)[0][0].Args[1]
	tests := []struct {
		scope ms.Scope
		want  string
	}{
		{ms.Device, "net:127.0.0.1:" + port + "~hello"},
		{ms.Local, "net:192.168.1.20:" + port + "~hello"},
		{ms.Private, "net:192.168.1.20:" + port + "~hello"},
		{ms.Public, "net:203.0.113.7:" + port + "~hello"},
	}
	var all []string
	for _, tt := range tests {
		if got := ln.Address(tt.scope).String(); got != tt.want {
			t.Errorf("Address(%s) = %q, want %q", tt.scope, got, tt.want)
		}
		if tt.scope != ms.Private {
			all = append(all, tt.want)
		}
	}
	if got, want := ln.Addr().String(), strings.Join(all, ";"); got != want {
		t.Errorf("Addr() = %q, want %q", got, want)
	}
}

// TestDeviceScopeBindsLoopback: with no host named, a device-scoped net
// stack binds loopback, never all interfaces (the JS ws plugin does).
func TestDeviceScopeBindsLoopback(t *testing.T) {
	ln := listen(t, &ms.ListenConfig{Config: helloCfg}, "net::0~hello")
	if got := ln.Addr().String(); !strings.HasPrefix(got, "net:127.0.0.1:") {
		t.Fatalf("Addr() = %q, want a loopback bind", got)
	}
	if _, err := (&ms.ListenConfig{Config: helloCfg, Scopes: []ms.Scope{ms.Device, ms.Public}}).Listen(context.Background(), "net::0~hello"); err == nil {
		t.Fatal("scopes device+public with no host: Listen guessed a bind address, want an error")
	}
}
