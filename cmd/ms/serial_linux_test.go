package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/go-multiserver/multiserver/internal/ptytest"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// openPTY opens a pseudo-terminal and returns its master (non-blocking,
// so that Close interrupts a Read), its slave (held open so the line
// stays up between conns) and the slave's path.
func openPTY(t *testing.T) (master, slave *os.File, path string) {
	t.Helper()
	m, s := ptytest.Open(t)
	return m, s, s.Name()
}

// serialLine joins two pseudo-terminals by copying between their masters:
// the two slave paths are the two ends of one serial line.
func serialLine(t *testing.T) (a, b string) {
	ma, sa, a := openPTY(t)
	mb, sb, b := openPTY(t)
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(mb, ma) })
	wg.Go(func() { io.Copy(ma, mb) })
	t.Cleanup(func() {
		ma.Close()
		mb.Close()
		wg.Wait()
		sa.Close()
		sb.Close()
	})
	return a, b
}

// TestSerialEcho runs ms listen and ms dial at the two ends of a serial
// line made of two pseudo-terminals, with shs on top.
func TestSerialEcho(t *testing.T) {
	t.Parallel()
	srvSecret, srvPub := secretFile(t, 1)
	cliSecret, _ := secretFile(t, 2)
	a, b := serialLine(t)
	listen := msaddr.Address{{Name: "serial", Args: []string{a, "0"}}, {Name: "shs"}}.String()
	ln := start(t, nil, "listen", "--secret", srvSecret, "--echo", listen)
	adv := ln.firstLine()
	want := msaddr.Address{{Name: "serial", Args: []string{a, "0"}}, {Name: "shs", Args: []string{shs.EncodeKey(srvPub)}}}.String()
	if adv != want {
		t.Errorf("advertised %q, want %q", adv, want)
	}
	dial := msaddr.Address{{Name: "serial", Args: []string{b, "0"}}, {Name: "shs", Args: []string{shs.EncodeKey(srvPub)}}}.String()
	data := make([]byte, 64<<10)
	rand.Read(data)
	d := start(t, bytes.NewReader(data), "dial", "--secret", cliSecret, dial)
	if code := d.wait(); code != 0 || d.stdout() != string(data) {
		t.Errorf("dial over the serial line: exit %d, %d bytes back of %d; stderr %s", code, len(d.stdout()), len(data), d.stderr.String())
	}
	if code := ln.interrupt(); code != 0 {
		t.Errorf("listen: exit %d; stderr %s", code, ln.stderr.String())
	}
}
