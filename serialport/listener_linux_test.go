package serialport

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/stack"
)

// listenPath returns a Listener on path and a channel that receives a
// value every time the Listener has opened the device (and so flushed its
// stale input).
func listenPath(t testing.TB, path string, opts *Options) (*Listener, chan struct{}) {
	t.Helper()
	tr := New(opts)
	opened := make(chan struct{}, 16)
	tr.onOpen = func(string) { opened <- struct{}{} }
	ln, err := tr.Listen(context.Background(), FormatSection(path, 0), []stack.Scope{stack.Device})
	if err != nil {
		t.Fatalf("Listen %s: %v", path, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*Listener), opened
}

func accept(t testing.TB, ln net.Listener) net.Conn {
	t.Helper()
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send writes msg on w and reads it back from r.
func send(t testing.TB, w, r net.Conn, msg string) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer r.SetReadDeadline(time.Time{})
	if _, err := w.Write([]byte(msg)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(r, got); err != nil || string(got) != msg {
		t.Fatalf("read %q, %v; want %q", got, err, msg)
	}
}

func TestListenerOneConnAtATime(t *testing.T) {
	l := newLink(t)
	ln, opened := listenPath(t, l.A, nil)
	<-opened
	peer := dialPath(t, l.B, 0)
	c1 := accept(t, ln)
	send(t, peer, c1, "first")
	send(t, c1, peer, "first back")

	next := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("second Accept: %v", err)
		}
		next <- c
	}()
	// While c1 is open the device stays ours: nobody else can open it
	// and the second Accept is still waiting.
	if _, err := dialSection(context.Background(), New(nil), FormatSection(l.A, 0)); !errors.Is(err, ErrBusy) {
		t.Fatalf("Dial of the listened device while a conn is open = %v; want ErrBusy", err)
	}
	send(t, peer, c1, "still first")
	select {
	case <-next:
		t.Fatal("second Accept returned while the first conn was open")
	default:
	}

	c1.Close()
	c2 := <-next
	if c2 == nil {
		return
	}
	defer c2.Close()
	<-opened
	send(t, peer, c2, "second")
	send(t, c2, peer, "second back")
}

func TestListenerClose(t *testing.T) {
	l := newLink(t)
	ln, _ := listenPath(t, l.A, nil)
	peer := dialPath(t, l.B, 0)
	c1 := accept(t, ln)

	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept() // blocked: c1 holds the device
		if c != nil {
			c.Close()
		}
		errc <- err
	}()
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("blocked Accept after Close = %v; want net.ErrClosed", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v; want net.ErrClosed", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	// As with any net.Listener, the accepted conn outlives the listener.
	send(t, peer, c1, "after close")
	c1.Close()
	dialPath(t, l.A, 0) // and then the device is free
}

func TestListenerCloseReleasesUnacceptedDevice(t *testing.T) {
	_, _, path := openPTY(t)
	ln, _ := listenPath(t, path, nil)
	ln.Close()
	dialPath(t, path, 0)
}

func TestListenerWaitsForMissingDevice(t *testing.T) {
	_, _, slave := openPTY(t)
	path := filepath.Join(t.TempDir(), "ttyLATE")
	ln, opened := listenPath(t, path, &Options{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		got <- c
	}()
	// The device appears (a USB adapter plugged in, rfcomm bound).
	if err := os.Symlink(slave, path); err != nil {
		t.Fatal(err)
	}
	c := <-got
	if c == nil {
		return
	}
	defer c.Close()
	<-opened
	if c.LocalAddr().String() != path {
		t.Errorf("LocalAddr = %s, want %s", c.LocalAddr(), path)
	}

	// A listener waiting for a device that never comes is closed promptly.
	ln2, _ := listenPath(t, filepath.Join(t.TempDir(), "never"), nil)
	errc := make(chan error, 1)
	go func() {
		_, err := ln2.Accept()
		errc <- err
	}()
	ln2.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept of a missing device after Close = %v; want net.ErrClosed", err)
	}
}

// TestListenerReopenFailureIsTemporary: when the device cannot be opened
// again (here: someone else took it between two conns), Accept says so
// with a temporary error and the next Accept works.
func TestListenerReopenFailureIsTemporary(t *testing.T) {
	_, _, path := openPTY(t)
	ln, _ := listenPath(t, path, nil)
	accept(t, ln).Close()
	intruder := dialPath(t, path, 0)
	_, err := ln.Accept()
	var ne interface{ Temporary() bool }
	if !errors.Is(err, ErrBusy) || !errors.As(err, &ne) || !ne.Temporary() {
		t.Fatalf("Accept while the device is taken = %v; want a temporary error wrapping ErrBusy", err)
	}
	intruder.Close()
	accept(t, ln)
}

func TestListenErrors(t *testing.T) {
	_, _, pty := openPTY(t)
	dialPath(t, pty, 0) // held for the "busy" case
	tr := New(nil)
	notTTY := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notTTY, nil, 0o600)
	for _, tc := range []struct {
		name   string
		path   string
		scopes []stack.Scope
		want   error
	}{
		{"not a tty", notTTY, nil, ErrNotTerminal},
		{"busy", pty, nil, ErrBusy},
		{"local scope", pty, []stack.Scope{stack.Device, stack.Local}, stack.ErrScope},
		{"public scope", pty, []stack.Scope{stack.Public}, stack.ErrScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := tr.Listen(context.Background(), FormatSection(tc.path, 0), tc.scopes)
			if err == nil {
				ln.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Listen = %v; want %v", err, tc.want)
			}
		})
	}
}

func TestListenerAdvertise(t *testing.T) {
	_, _, path := openPTY(t)
	ln, _ := listenPath(t, path, nil)
	for _, sc := range stack.Scopes() {
		got := ln.Advertise(sc)
		if sc != stack.Device {
			if got != nil {
				t.Errorf("Advertise(%s) = %v; want nil", sc, got)
			}
			continue
		}
		if len(got) != 1 || got[0].String() != "serial:"+path+":0" {
			t.Errorf("Advertise(device) = %v", got)
		}
	}
	if ln.Addr().String() != path {
		t.Errorf("Addr = %s", ln.Addr())
	}
}
