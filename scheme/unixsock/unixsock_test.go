package unixsock

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
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
		if err != nil || got.Section().String() != tt.want {
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

// TestListenRemovesDirsItMade: Listen creates missing parents (mode
// DirMode); Close removes them again, and leaves existing ones alone.
func TestListenRemovesDirsItMade(t *testing.T) {
	base := shortDir(t)
	p := filepath.Join(base, "a", "b", "s")
	ln, err := New(nil).Listen(context.Background(), msaddr.Section{Name: "unix", Args: []string{p}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(base, "a"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("parent: %v, %v; want a directory with mode 0700", fi, err)
	}
	ln.Close()
	if _, err := os.Stat(filepath.Join(base, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close, %s/a: %v; want it removed", base, err)
	}
	if _, err := os.Stat(base); err != nil {
		t.Errorf("the existing directory went: %v", err)
	}
	// A failed Listen leaves nothing either.
	if err := os.WriteFile(filepath.Join(base, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(base, "c", "d", strings.Repeat("x", 200)) // longer than sun_path
	if ln, err := New(nil).Listen(context.Background(), msaddr.Section{Name: "unix", Args: []string{bad}}, nil); err == nil {
		ln.Close()
		t.Fatal("Listen on a path longer than a socket address can hold succeeded")
	}
	if _, err := os.Stat(filepath.Join(base, "c")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after a failed Listen, %s/c: %v; want it removed", base, err)
	}
}
