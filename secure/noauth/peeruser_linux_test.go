package noauth_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/secure/noauth"
)

// TestUnixPeerOtherUserRefused runs a client as another user (nobody) and
// checks that the accepting side refuses it, unless AllowAnyUser is set.
func TestUnixPeerOtherUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to start a client as another user")
	}
	if p := os.Getenv("NOAUTH_TEST_DIAL"); p != "" {
		t.Skip("helper mode")
	}
	dir, err := os.MkdirTemp("", "na")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s")
	ln, err := unixsock.New(&unixsock.Options{Mode: 0o777}).Listen(context.Background(), msaddr.Section{Name: "unix", Args: []string{path}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// The test binary sits in a private build directory: copy it where
	// nobody may run it.
	bin := filepath.Join(dir, "noauth.test")
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, allowAny := range []bool{false, true} {
		st, err := noauth.New(&noauth.Options{AllowAnyUser: allowAny}).Listen(msaddr.Section{Name: "noauth"}, ln)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^TestDialAsHelper$")
		cmd.Env = append(os.Environ(), "NOAUTH_TEST_DIAL="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start a process as nobody: %v", err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Server(context.Background(), sc)
		sc.Close()
		cmd.Wait()
		if allowAny {
			if err != nil {
				t.Errorf("AllowAnyUser: Server = %v, want the peer admitted", err)
			}
		} else if !errors.Is(err, noauth.ErrPeerUser) {
			t.Errorf("Server for a peer running as nobody = %v, want ErrPeerUser", err)
		}
	}
}

// TestDialAsHelper is the client half of TestUnixPeerOtherUserRefused,
// run in a child process as another user.
func TestDialAsHelper(t *testing.T) {
	p := os.Getenv("NOAUTH_TEST_DIAL")
	if p == "" {
		t.Skip("only run as a child of TestUnixPeerOtherUserRefused")
	}
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	c.Read(b[:]) // until the server closes
	c.Close()
}
