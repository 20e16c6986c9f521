package main

import (
	"io"
	"syscall"
	"testing"
)

// startAs is start with the child running as uid (and gid) instead of the
// test's user. The binary must be readable and executable by uid.
func startAs(t *testing.T, uid int, stdin io.Reader, args ...string) *proc {
	t.Helper()
	return startAttr(t, testEnv(t), &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}, stdin, args...)
}
