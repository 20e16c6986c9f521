package main

import (
	"bytes"
	"crypto/ed25519"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/internal/ssbpeer"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// TestDialSSBServerLike dials a peer that ends conns as ssb-server does:
// it keeps a conn after the client's goodbye until it sees FIN, then sends
// its last packet and closes without the shs goodbye. ms dial must send FIN
// with its goodbye (else the peer holds it until its inactivity timer),
// return, and report the end as unconfirmed (exit 3), not as a failure.
func TestDialSSBServerLike(t *testing.T) {
	t.Parallel()
	srvKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The timer only ends a failing run: a client that half-closes is
	// answered at once.
	p := ssbpeer.Listen(ln, &shs.Config{Identity: srvKey}, procTimeout/2)
	defer p.Close()
	addr := "net:" + ln.Addr().String() + "~shs:" + shs.EncodeKey(srvKey.Public().(ed25519.PublicKey))
	secret, _ := secretFile(t, 9)
	code, stdout, stderr := runMS(t, strings.NewReader("REQUEST"), "dial", "--secret", secret, addr)
	end := <-p.Ends()
	if !end.SawFIN || !end.Goodbye || end.Received != len("REQUEST") {
		t.Errorf("peer saw %+v; want the goodbye, then FIN, after 7 bytes", end)
	}
	if want := "REQUEST" + string(ssbpeer.Last); stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if code != exitUnconfirmed || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "closed without the shs goodbye (as ssb-server does)") ||
		!strings.Contains(stderr, strconv.Itoa(len(stdout))+" bytes received") {
		t.Errorf("exit %d, stderr %q; want %d and one line saying the peer closed without goodbye after all was exchanged", code, stderr, exitUnconfirmed)
	}
}

// TestDialPeerCutShort: a peer that hangs up without a goodbye before the
// client is done is a failure (exit 1), told apart from the ssb-server end.
func TestDialPeerCutShort(t *testing.T) {
	t.Parallel()
	srvKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		raw, err := ln.Accept()
		if err != nil {
			return
		}
		defer raw.Close()
		c := shs.Server(raw, &shs.Config{Identity: srvKey})
		c.Write([]byte("partial"))
		// Hang up without goodbye while the client still sends.
	}()
	addr := "net:" + ln.Addr().String() + "~shs:" + shs.EncodeKey(srvKey.Public().(ed25519.PublicKey))
	// stdin stays open until the test ends: the client is not done.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	secret, _ := secretFile(t, 9)
	d := start(t, pr, "dial", "--secret", secret, addr)
	select {
	case <-done:
	case <-time.After(procTimeout):
		t.Fatal("the peer got no conn")
	}
	code := d.wait()
	if code != exitFailure || d.stdout() != "partial" || !strings.Contains(d.stderr.String(), "without the shs goodbye after 7 bytes") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, partial, and the missing goodbye", code, d.stdout(), d.stderr.String())
	}
}
