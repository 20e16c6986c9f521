package ptytest

import (
	"os"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Open opens a pseudo-terminal and returns its master, non-blocking, and
// its slave; the caller closes both. pty.Open calls Fd on the master,
// which makes it blocking, so that a Read on it could not be interrupted
// by Close; the master returned is a non-blocking duplicate that the
// runtime poller handles.
func Open(t testing.TB) (master, slave *os.File) {
	t.Helper()
	m0, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v", err)
	}
	fd, err := unix.Dup(int(m0.Fd()))
	m0.Close()
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		s.Close()
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), s
}
