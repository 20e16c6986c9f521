//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// pollable returns a file for f that the runtime's poller serves, and a
// function that closes it and puts f back as it was, when f is a pipe or
// a socket in blocking mode; otherwise f itself. A blocking read or write
// on such a file holds an OS thread while it waits, and every wait costs
// thread hand-offs and wake-ups (thousands per 50 MB piped through ms
// dial); through the poller a waiting goroutine costs nothing.
//
// Non-blocking mode belongs to the open file description, which the
// processes that share it (the other side of a pipe is a separate
// description) see too; the mode is put back when ms is done.
// Terminals and regular files are left alone.
func pollable(f *os.File) (*os.File, func()) {
	noop := func() {}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return f, noop
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return f, noop
	}
	nfd := -1
	cerr := rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil || fl&unix.O_NONBLOCK != 0 {
			return // already served by the poller, or unknown
		}
		d, err := unix.Dup(int(fd))
		if err != nil {
			return
		}
		if err := unix.SetNonblock(d, true); err != nil {
			unix.Close(d)
			return
		}
		nfd = d
	})
	if cerr != nil || nfd < 0 {
		return f, noop
	}
	nf := os.NewFile(uintptr(nfd), f.Name())
	return nf, func() {
		unix.SetNonblock(nfd, false)
		nf.Close()
	}
}
