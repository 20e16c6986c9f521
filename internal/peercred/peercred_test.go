//go:build linux || darwin || freebsd

package peercred

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestUIDOfOwnPeer(t *testing.T) {
	dir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, conn := range map[string]*net.UnixConn{"accepted": s, "dialed": c.(*net.UnixConn)} {
		uid, err := UID(conn)
		if err != nil || uid != os.Getuid() {
			t.Errorf("UID(%s) = %d, %v; want %d", name, uid, err, os.Getuid())
		}
	}
}
