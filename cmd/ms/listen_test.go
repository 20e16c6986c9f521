package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// unixAddr is a listen address for a socket in a fresh directory.
func unixAddr(t *testing.T) (addr, path string) {
	dir, err := os.MkdirTemp("", "ms-") // t.TempDir paths can pass the 104-byte limit of sun_path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path = filepath.Join(dir, "s")
	return msaddr.Address{{Name: "unix", Args: []string{path}}, {Name: "noauth"}}.String(), path
}

func TestListenEchoDial(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	srvSecret, srvPub := secretFile(t, 1)
	cliSecret, cliPub := secretFile(t, 2)
	uaddr, upath := unixAddr(t)
	tests := []struct {
		name, listen, stack string
		shs                 bool
	}{
		{"net+shs", "net:127.0.0.1:0~shs", "net~shs", true},
		{"ws+shs", "ws://127.0.0.1:0~shs", "ws~shs", true},
		{"unix+noauth", uaddr, "unix~noauth", false},
		{"net+noauth", "net:127.0.0.1:0~noauth", "net~noauth", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := start(t, nil, "listen", "--secret", srvSecret, "--echo", tt.listen)
			addr := ln.firstLine()
			m, err := msaddr.Parse(addr)
			if err != nil || len(m) != 1 || stackName(m[0]) != tt.stack {
				t.Fatalf("first line %q is not one %s address (%v)", addr, tt.stack, err)
			}
			if tt.shs && m[0][1].String() != "shs:"+shs.EncodeKey(srvPub) {
				t.Errorf("advertised %q does not carry the server key", addr)
			}
			data := make([]byte, 1<<20)
			rand.Read(data)
			for range 2 { // two clients, one after the other
				d := start(t, bytes.NewReader(data), "dial", "--secret", cliSecret, addr)
				if code := d.wait(); code != 0 {
					t.Fatalf("dial: exit %d, stderr %s", code, d.stderr.String())
				}
				if got := d.stdout(); got != string(data) {
					t.Fatalf("dial echoed %d bytes, want the %d sent", len(got), len(data))
				}
			}
			if code := ln.interrupt(); code != 0 {
				t.Errorf("listen after SIGINT: exit %d, want 0; stderr:\n%s", code, ln.stderr.String())
			}
			if rest := ln.stdout(); rest != addr+"\n" {
				t.Errorf("listen --echo stdout %q, want the address line only", rest)
			}
			log := ln.stderr.String()
			wantKey := "key none"
			if tt.shs {
				wantKey = "key " + shs.FormatID(cliPub)
			}
			for _, want := range []string{"conn 1: " + tt.stack + " from ", "conn 2: " + tt.stack + " from ", wantKey, "conn 1: closed after 1048576 bytes in, 1048576 out"} {
				if !strings.Contains(log, want) {
					t.Errorf("listen stderr lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, string(mustRead(t, srvSecret))) {
				t.Error("listen printed its secret")
			}
		})
	}
	if _, err := os.Stat(upath); !os.IsNotExist(err) {
		t.Errorf("unix socket still there after the listener stopped (stat: %v)", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestListenStdio checks the default mode, like nc -l: the first conn is
// piped to stdin/stdout both ways, with half-close, and both ends exit.
func TestListenStdio(t *testing.T) {
	t.Parallel()
	srvSecret, _ := secretFile(t, 1)
	cliSecret, _ := secretFile(t, 2)
	ln := start(t, strings.NewReader("from the server\n"), "listen", "--secret", srvSecret, "net:127.0.0.1:0~shs")
	addr := ln.firstLine()
	d := start(t, strings.NewReader("from the client\n"), "dial", "--secret", cliSecret, addr)
	if code := d.wait(); code != 0 || d.stdout() != "from the server\n" {
		t.Errorf("dial: exit %d, stdout %q, stderr %s", code, d.stdout(), d.stderr.String())
	}
	if code := ln.wait(); code != 0 || ln.stdout() != addr+"\nfrom the client\n" {
		t.Errorf("listen: exit %d, stdout %q, stderr %s", code, ln.stdout(), ln.stderr.String())
	}
}

func TestListenUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"echo and forward", []string{"listen", "--echo", "--forward", "127.0.0.1:1", "net:127.0.0.1:0~shs"}, 2, "--echo and --forward exclude each other"},
		{"bad forward", []string{"listen", "--forward", "nowhere", "net:127.0.0.1:0~shs"}, 2, "--forward"},
		{"bad allow", []string{"listen", "--allow", "@nope.ed25519", "net:127.0.0.1:0~shs"}, 2, "--allow: shs: invalid key"},
		{"bad app key", []string{"listen", "--app-key", "AAAA", "net:127.0.0.1:0~shs"}, 2, "--app-key: shs: invalid key"},
		{"bad scope", []string{"listen", "--scope", "galaxy", "net:127.0.0.1:0~shs"}, 2, "--scope"},
		{"bad address", []string{"listen", "net:127.0.0.1:0~"}, 2, "trailing '~'"},
		{"unknown stack", []string{"listen", "carrier:pigeon~shs"}, 2, "unknown transport"},
		{"two addresses", []string{"listen", "net:127.0.0.1:0~shs", "x"}, 2, "want exactly one address"},
		{"missing secret", []string{"listen", "--secret", "/nonexistent/secret", "net:127.0.0.1:0~shs"}, 1, "no such file"},
		{"noauth on all interfaces", []string{"listen", "net:0.0.0.0:0~noauth"}, 1, "noauth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMS(t, nil, tt.args...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q", code, stdout, stderr, tt.code, tt.msg)
			}
		})
	}
}
