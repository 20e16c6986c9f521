package unixsock

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"unix:/run/app.sock", "unix:/run/app.sock", nil},
		{"unix:/tmp/a:b/socket", "unix:/tmp/a:b/socket", nil}, // colons need no escaping
		{"unix:rel/sock", "unix:rel/sock", nil},
		{"unix:@abstract", "unix:@abstract", nil},
		{"unix", "", stack.ErrAddress},
		{"unix:", "", stack.ErrAddress},
		{"net:h:1", "", stack.ErrAddress},
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
		if err != nil || got.String() != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "us")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestListenAdvertisesDeviceOnly(t *testing.T) {
	p := filepath.Join(shortDir(t), "s")
	ln, err := New(nil).Listen(context.Background(), msaddr.Section{Name: "unix", Args: []string{p}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := ln.Advertise(stack.Device); len(got) != 1 || got[0].String() != "unix:"+p {
		t.Errorf("Advertise(device) = %v", got)
	}
	for _, sc := range []stack.Scope{stack.Local, stack.Public} {
		if got := ln.Advertise(sc); got != nil {
			t.Errorf("Advertise(%s) = %v, want nil", sc, got)
		}
	}
}

func TestListenRefusesRegularFile(t *testing.T) {
	p := filepath.Join(shortDir(t), "f")
	if err := os.WriteFile(p, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := New(nil).Listen(context.Background(), msaddr.Section{Name: "unix", Args: []string{p}}, nil)
	if err == nil {
		ln.Close()
		t.Fatal("Listen replaced a regular file")
	}
	if b, _ := os.ReadFile(p); string(b) != "not a socket" {
		t.Fatal("the regular file was touched")
	}
}

func TestSectionOfUnnamedClient(t *testing.T) {
	s, ok := New(nil).Section(&net.UnixAddr{Net: "unix"})
	if !ok || s.String() != "unix" {
		t.Errorf("Section(unnamed) = %q, %v", s, ok)
	}
}
