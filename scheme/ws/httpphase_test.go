package ws

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitClosed reads from c until the server closes it; it fails the test
// if that takes 10 s (a watchdog, not a measurement).
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
		t.Fatalf("waiting for the server to close a conn: %v", err)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"))
}

// TestHTTPPhaseShedsOldest fills MaxHTTPConns with silent conns and one
// that sent half its headers, then checks that each new conn closes the
// oldest of them and that an upgrade still gets through at once.
func TestHTTPPhaseShedsOldest(t *testing.T) {
	const max = 4
	ln := listenT(t, New(&Options{MaxHTTPConns: max}), "ws://127.0.0.1:0")
	var silent []net.Conn
	for i := range max + 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i == 0 {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") // headers not finished
		}
		silent = append(silent, c)
	}
	// The server accepts in order: conns max and max+1 shed conns 0 and 1.
	waitClosed(t, silent[0])
	waitClosed(t, silent[1])
	dialed, accepted := pairOn(t, New(nil), ln, "/")
	dialed.Close()
	accepted.Close()
	n, shed := ln.phase.count()
	if shed != 3 {
		t.Errorf("%d conns shed, want 3 (two silent ones, then one for the upgrade)", shed)
	}
	if n > max {
		t.Errorf("%d conns counted, bound %d", n, max)
	}
	waitClosed(t, silent[2])
}

// TestHTTPPhaseHeaderBytes sends headers beyond MaxHeaderBytes without
// ending them: the server answers 431 and closes instead of buffering.
func TestHTTPPhaseHeaderBytes(t *testing.T) {
	ln := listenT(t, New(nil), "ws://127.0.0.1:0")
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ")
		pad := strings.Repeat("a", 1024)
		for range 64 { // 64 KiB, far beyond the 8 KiB (+ 4 KiB) bound
			if _, err := io.WriteString(c, pad); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %s, want 431", resp.Status)
	}
	// net/http lingers before it closes (so that the 431 is not lost to a
	// reset); wait for that, so no server goroutine outlives the test.
	waitClosed(t, c)
}

// TestHTTPPhaseRequestInProgressNotShed checks that a conn inside a
// request (here a plain request held in Options.Handler) is not shed: at
// the bound the new conn is closed instead.
func TestHTTPPhaseRequestInProgressNotShed(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		io.WriteString(w, "done")
	})
	ln := listenT(t, New(&Options{MaxHTTPConns: 1, Handler: h}), "ws://127.0.0.1:0")
	busy, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered
	late, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	waitClosed(t, late)
	close(release)
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("the request in progress lost its conn: %v", err)
	}
	resp.Body.Close()
}
