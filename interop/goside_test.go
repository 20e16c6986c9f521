package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// goConnResult is what the Go echo server saw on one accepted conn.
type goConnResult struct {
	stack, remote string
	remoteKey     string // base64, "" for none
	bytes         int64
	readErr       error // nil when the peer ended cleanly (goodbye / EOF)
	closeWriteErr error // from sending our goodbye after the echo
}

// goServer is a Go echo listener for the JS client.
type goServer struct {
	ln      *ms.Listener
	conns   chan goConnResult
	errs    chan error // the ListenConfig's OnError reports
	wg      sync.WaitGroup
	accepts chan struct{}
}

// startGoServer listens on addrs with lc (its OnError is set here) and
// echoes every accepted conn: copy until the peer ends, then CloseWrite
// (the goodbye) and Close.
func startGoServer(t testing.TB, lc *ms.ListenConfig, addrs string) *goServer {
	t.Helper()
	s := &goServer{conns: make(chan goConnResult, 64), errs: make(chan error, 64), accepts: make(chan struct{})}
	lc.OnError = func(err error) {
		select {
		case s.errs <- err:
		default:
		}
	}
	ln, err := lc.Listen(context.Background(), addrs)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addrs, err)
	}
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.accepts)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				mc := c.(*ms.Conn)
				c.SetDeadline(time.Now().Add(60 * time.Second))
				n, rerr := io.Copy(c, c)
				r := goConnResult{stack: mc.Stack(), remote: mc.RemoteAddr().String(), bytes: n, readErr: rerr}
				if k := mc.RemoteKey(); k != nil {
					r.remoteKey = base64.StdEncoding.EncodeToString(k)
				}
				r.closeWriteErr = mc.CloseWrite()
				s.conns <- r
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Addr is the listener's advertised address, as Go formats it.
func (s *goServer) Addr() string { return s.ln.Addr().String() }

func (s *goServer) result(t testing.TB) goConnResult {
	t.Helper()
	select {
	case r := <-s.conns:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("the Go server finished no conn within 60s")
	}
	return goConnResult{}
}

func (s *goServer) handshakeError(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s.errs:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the Go listener reported no handshake error within 30s")
	}
	return nil
}

// noConn checks that the Go server accepted nothing.
func (s *goServer) noConn(t testing.TB) {
	t.Helper()
	select {
	case r := <-s.conns:
		t.Errorf("the Go server accepted a conn and echoed %d bytes; want none", r.bytes)
	default:
	}
}

// goEcho dials addr with d, writes n pattern bytes while reading the echo,
// checks it byte for byte, then sends its goodbye (CloseWrite) and waits for
// the peer's end. It returns the conn's remote address and how the peer
// ended: nil for a clean end (io.EOF after the goodbye).
func goEcho(t testing.TB, d *ms.Dialer, addr string, n int) (remote string, peerEnd error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, addr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if err := echoOn(c, pattern(0, n)); err != nil {
		t.Fatalf("echo of %d bytes over %q: %v", n, addr, err)
	}
	if err := c.(*ms.Conn).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite (goodbye): %v", err)
	}
	var one [1]byte
	k, err := c.Read(one[:])
	switch {
	case k > 0:
		t.Fatalf("peer sent %d more bytes after the echo", k)
	case err == io.EOF:
		err = nil
	}
	return c.RemoteAddr().String(), err
}

// echoOn writes msg on c while reading and checking its echo.
func echoOn(c net.Conn, msg []byte) error {
	n := len(msg)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		werr <- err
	}()
	got := make([]byte, n)
	_, rerr := io.ReadFull(c, got)
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("read echo: %w", rerr)
	}
	if i := firstDiff(got, msg); i >= 0 {
		return fmt.Errorf("echo differs at byte %d", i)
	}
	return nil
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// dialFails dials addr and checks that it fails with a handshake error.
func dialFails(t testing.TB, d *ms.Dialer, addr string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, addr)
	if err == nil {
		c.Close()
		t.Fatalf("Dial(%q) succeeded; want a handshake error", addr)
	}
	if !errors.Is(err, ms.ErrHandshake) {
		t.Errorf("Dial(%q) = %v; want an error wrapping ErrHandshake", addr, err)
	}
	return err
}
