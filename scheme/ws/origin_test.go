package ws

import (
	"context"
	"net/http"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// TestOriginPolicyByListenContext: the transport alone, without the root
// package: a Listen ctx from stack.WithPeerAuthentication lets pages of
// any origin in, a plain ctx only the listener's own, and OriginPatterns
// overrides both.
func TestOriginPolicyByListenContext(t *testing.T) {
	s := msaddr.Section{Name: "ws", Args: []string{"//127.0.0.1", "0"}}
	tests := []struct {
		name     string
		ctx      context.Context
		patterns []string
		foreign  bool // whether http://app.example gets in
	}{
		{"plain ctx", context.Background(), nil, false},
		{"peer authentication", stack.WithPeerAuthentication(context.Background()), nil, true},
		{"peer authentication, patterns", stack.WithPeerAuthentication(context.Background()), []string{"other.example"}, false},
		{"plain ctx, pattern", context.Background(), []string{"APP.example"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := New(&Options{OriginPatterns: tt.patterns}).Listen(tt.ctx, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			self := "http://" + ln.Addr().String()
			for _, o := range []struct {
				origin string
				want   bool
			}{{"", true}, {self, true}, {"http://app.example", tt.foreign}} {
				if got := upgradeStatus(t, ln.Addr().String(), o.origin) == http.StatusSwitchingProtocols; got != o.want {
					t.Errorf("origin %q let in: %v, want %v", o.origin, got, o.want)
				}
			}
		})
	}
}

// upgradeStatus sends one upgrade request with the given Origin header
// (none if empty) and returns the response status.
func upgradeStatus(t *testing.T, hostPort, origin string) int {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+hostPort+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
