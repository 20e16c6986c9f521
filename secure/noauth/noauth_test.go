package noauth_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/stack"
)

func TestParse(t *testing.T) {
	tr := noauth.New(nil)
	for _, in := range []string{"noauth", "noauth:", "noauth:anything:at:all"} {
		s, _ := msaddr.ParseSection(in)
		got, err := tr.Parse(s)
		if err != nil || got.Section().String() != "noauth" {
			t.Errorf("Parse(%q) = %q, %v; want noauth", in, got, err)
		}
	}
	s, _ := msaddr.ParseSection("shs:abc")
	if _, err := tr.Parse(s); !errors.Is(err, stack.ErrAddress) {
		t.Errorf("Parse(shs) error = %v, want ErrAddress", err)
	}
}

func listenTCP(t *testing.T, host string, scopes ...stack.Scope) stack.Listener {
	t.Helper()
	ln, err := tcp.New(nil).Listen(context.Background(), msaddr.Section{Name: "net", Args: []string{host, "0"}}, scopes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestListenRefusesReachableListeners(t *testing.T) {
	tests := []struct {
		name   string
		ln     func(t *testing.T) stack.Listener
		remote bool
	}{
		{"loopback", func(t *testing.T) stack.Listener { return listenTCP(t, "127.0.0.1") }, false},
		{"all interfaces v4", func(t *testing.T) stack.Listener { return listenTCP(t, "0.0.0.0") }, true},
		{"loopback advertised publicly", func(t *testing.T) stack.Listener {
			return listenTCP(t, "127.0.0.1", stack.Device, stack.Public)
		}, true},
	}
	sec := msaddr.Section{Name: "noauth"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := tt.ln(t)
			_, err := noauth.New(nil).Listen(sec, ln)
			if tt.remote != errors.Is(err, noauth.ErrRemote) {
				t.Fatalf("Listen = %v, want ErrRemote: %v", err, tt.remote)
			}
			if _, err := noauth.New(&noauth.Options{AllowRemote: true}).Listen(sec, ln); err != nil {
				t.Fatalf("AllowRemote: Listen = %v", err)
			}
		})
	}
}

// TestUnixPeerUser: the accepting side admits peers of our own uid (see
// TestUnixPeerOtherUserRefused for another uid).
func TestUnixPeerUser(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no peer credentials on Windows: noauth refuses unix peers there unless AllowAnyUser")
	}
	dir, err := os.MkdirTemp("", "na")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := unixsock.New(nil).Listen(context.Background(), msaddr.Section{Name: "unix", Args: []string{filepath.Join(dir, "s")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, err := noauth.New(nil).Listen(msaddr.Section{Name: "noauth"}, ln)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Advertise().String(); got != "noauth" {
		t.Errorf("Advertise() = %q", got)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := <-accepted
	if !ok {
		t.Fatal("Accept failed")
	}
	defer sc.Close()
	got, err := st.Server(context.Background(), sc)
	if err != nil {
		t.Fatalf("Server for a peer of our own uid: %v", err)
	}
	if got != sc {
		t.Error("Server did not pass the conn through unchanged")
	}
}
