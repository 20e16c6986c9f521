package main

import (
	"bytes"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// TestDialFailures checks that every failed dial exits 1 with one line
// on stderr saying what went wrong.
func TestDialFailures(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	srvSecret, srvPub := secretFile(t, 1)
	okSecret, okPub := secretFile(t, 2)
	otherSecret, _ := secretFile(t, 3)
	_, strangerPub := secretFile(t, 4)
	ln := start(t, nil, "listen", "--secret", srvSecret, "--allow", shs.EncodeKey(okPub), "--echo", "net:127.0.0.1:0~shs")
	addr := ln.firstLine()
	host := strings.TrimPrefix(strings.Split(addr, "~")[0], "net:")

	// The allowed client gets through.
	d := start(t, strings.NewReader("hi"), "dial", "--secret", okSecret, addr)
	if code := d.wait(); code != 0 || d.stdout() != "hi" {
		t.Fatalf("allowed client: exit %d, stdout %q, stderr %s", code, d.stdout(), d.stderr.String())
	}

	refused := closedPort(t)
	silent := silentServer(t)
	wrongKey := strings.Replace(addr, shs.EncodeKey(srvPub), shs.EncodeKey(strangerPub), 1)
	appKey := shs.EncodeKey(bytes.Repeat([]byte{5}, 32))
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"wrong server key", []string{"--secret", okSecret, wrongKey}, 1, "rejected by the server"},
		{"wrong app key", []string{"--secret", okSecret, "--app-key", appKey, addr}, 1, "wrong app key"},
		{"not allowed", []string{"--secret", otherSecret, addr}, 1, "rejected by the server"},
		{"refused", []string{"--secret", okSecret, "net:" + refused + "~shs:" + shs.EncodeKey(srvPub)}, 1, "connection refused"},
		{"timeout", []string{"--secret", okSecret, "--timeout", "300ms", "net:" + silent + "~shs:" + shs.EncodeKey(srvPub)}, 1, "timed out"},
		{"no unix socket", []string{"unix:/nonexistent/ms.sock~noauth"}, 1, "no such socket"},
		{"bad address", []string{"net:" + host + "~shs:AAAA"}, 2, "ms dial: bad address: net~shs: "},
		{"bad port", []string{"net:127.0.0.1:99999"}, 2, "ms dial: bad address: net: multiserver: invalid address section: net: port 99999 out of range\n"},
		{"unknown stack", []string{"carrier:pigeon~shs:" + shs.EncodeKey(srvPub)}, 2, "no known stack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMS(t, strings.NewReader("data"), append([]string{"dial"}, tt.args...)...)
			if code != tt.code || stdout != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing; stderr %q", code, stdout, tt.code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ms dial: ") || !strings.Contains(stderr, tt.msg) {
				t.Errorf("stderr %q: want one line starting \"ms dial: \" and saying %q", stderr, tt.msg)
			}
			if tt.code == exitUsage && (strings.Contains(stderr, "dial failed") || strings.Contains(stderr, "fresh key")) {
				t.Errorf("stderr %q: a bad address is not a failed dial, and not about keys", stderr)
			}
		})
	}

	// Without --secret the dial uses a fresh key. The note saying so is
	// the likely cause when the server turns the client away, and noise
	// when nothing listens.
	for _, tt := range []struct {
		name, addr string
		note       bool
	}{
		{"not allowed", addr, true},
		{"refused", "net:" + refused + "~shs:" + shs.EncodeKey(srvPub), false},
	} {
		t.Run("fresh key, "+tt.name, func(t *testing.T) {
			code, _, stderr := runMS(t, strings.NewReader("data"), "dial", tt.addr) // a fresh HOME: no secret
			if code != 1 || strings.Contains(stderr, "using a fresh key") != tt.note {
				t.Errorf("exit %d, stderr %q; want 1, and the fresh-key note: %v", code, stderr, tt.note)
			}
		})
	}
	if code := ln.interrupt(); code != 0 {
		t.Errorf("listen: exit %d", code)
	}
	if log := ln.stderr.String(); !strings.Contains(log, "client key not in --allow") {
		t.Errorf("listen stderr does not say a client was refused:\n%s", log)
	}
}

func TestTunnelBadAddress(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"net:127.0.0.1:1~shs:AAAA", "carrier:pigeon~shs", "net:127.0.0.1:1~"} {
		code, stdout, stderr := runMS(t, nil, "dial", "--local", "127.0.0.1:0", addr)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("dial --local %q: exit %d, stdout %q, stderr %q; want 2, nothing, one line", addr, code, stdout, stderr)
		}
	}
}

// closedPort returns a loopback address nobody listens on any more.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// silentServer accepts TCP conns and never answers, until the test ends.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestDialFailureConnectReset: a server that accepts and aborts at once
// can reset the conn before the client's connect has returned (seen under
// load with a tunnel, ms dial --local, whose own dial failed); ms dial
// then exits 1 with the likely reasons, as for a reset after the connect.
func TestDialFailureConnectReset(t *testing.T) {
	t.Parallel()
	// The error net.Dialer returns when the socket's SO_ERROR is ECONNRESET.
	op := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, Err: os.NewSyscallError("connect", syscall.ECONNRESET)}
	err := &ms.DialError{Addr: "net:127.0.0.1:9", Errs: []error{&ms.AltError{Index: 0, Stack: "net", Err: op}}}
	msg := dialFailure(err)
	if code := exitCode(err); code != exitFailure || !strings.Contains(msg, "--forward: its target is down") || !strings.Contains(msg, "connection reset by peer") {
		t.Errorf("exit %d, message %q; want 1 and the likely reasons with the error", code, msg)
	}
}
