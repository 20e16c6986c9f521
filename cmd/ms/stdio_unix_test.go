//go:build unix

package main

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func nonblocking(t *testing.T, f *os.File) bool {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl int
	if err := rc.Control(func(fd uintptr) { fl, err = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fl&unix.O_NONBLOCK != 0
}

// TestPollablePipe: a pipe gets a poller-served file that moves the same
// bytes, and its blocking mode back afterwards; a regular file is left
// alone.
func TestPollablePipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// os.Pipe's files are non-blocking already; make the read end what a
	// shell hands a process: blocking.
	rc, _ := r.SyscallConn()
	rc.Control(func(fd uintptr) { unix.SetNonblock(int(fd), false) })
	if nonblocking(t, r) {
		t.Fatal("test setup: the pipe is still non-blocking")
	}
	pr, undo := pollable(r)
	if pr == r {
		t.Fatal("pollable returned the blocking pipe itself")
	}
	if !nonblocking(t, pr) {
		t.Fatal("the returned file is not non-blocking")
	}
	go func() {
		w.Write([]byte("through the poller"))
		w.Close()
	}()
	got, err := io.ReadAll(pr)
	if err != nil || string(got) != "through the poller" {
		t.Fatalf("read %q, %v", got, err)
	}
	undo()
	if nonblocking(t, r) {
		t.Fatal("undo left the pipe non-blocking")
	}

	f, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pf, undo := pollable(f); pf != f {
		t.Fatal("pollable replaced a regular file")
	} else {
		undo()
	}
}
