package serialport

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// msLink is a multiserver Listener on one end of a pty link running an
// echo server, and the address a client dials on the other end.
type msLink struct {
	link   *link
	ln     *ms.Listener
	dial   string        // serial:<B>:0~shs:<key>
	opened chan struct{} // the listener (re)opened the device
	errs   chan error    // handshake failures the listener reported
	server ed25519.PublicKey
}

func newMSLink(t testing.TB) *msLink {
	t.Helper()
	l := newLink(t)
	tr := New(nil)
	m := &msLink{link: l, opened: make(chan struct{}, 16), errs: make(chan error, 16)}
	tr.onOpen = func(string) { m.opened <- struct{}{} }
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	m.server = pub
	lc := ms.ListenConfig{
		Config:           ms.Config{Identity: priv, Transports: []stack.Transport{tr}},
		HandshakeTimeout: 10 * time.Second,
		OnError:          func(err error) { m.errs <- err },
	}
	ln, err := lc.Listen(context.Background(), FormatSection(l.A, 0).String()+"~shs")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	m.ln = ln
	addr := ln.Address(ms.Device)
	if len(addr) != 1 || len(addr[0]) != 2 || addr[0][0].String() != "serial:"+l.A+":0" || addr[0][1].Name != "shs" {
		t.Fatalf("advertised address %v; want serial:%s:0~shs:KEY", addr, l.A)
	}
	m.dial = msaddr.Address{FormatSection(l.B, 0), addr[0][1]}.String()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // echo server
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Accept: %v", err)
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return m
}

// echo dials, sends n random bytes while reading the echo concurrently,
// checks it and closes.
func (m *msLink) echo(t testing.TB, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := ms.Dialer{Config: ms.Config{Transports: []stack.Transport{New(nil)}}}
	c, err := d.DialContext(ctx, m.dial)
	if err != nil {
		t.Fatalf("Dial %s: %v", m.dial, err)
	}
	defer c.Close()
	if k := ms.RemoteKey(c); !bytes.Equal(k, m.server) {
		t.Fatalf("remote key %x; want the listener's %x", k, m.server)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	want := make([]byte, n)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		werr <- err
	}()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo of %d bytes differs", n)
	}
	// End the session cleanly: send our goodbye and read the server's, so
	// that no byte of this session is still on the line when the next
	// one starts (a serial line has no connection boundaries; the
	// server's flush on re-open only drops what has already arrived).
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after CloseWrite read %d bytes, %v; want the server's goodbye (EOF)", len(rest), err)
	}
}

// TestSHSEchoOverSerial: shs over serial on both ends, through the
// multiserver package, 1 MiB each way, twice in a row (the listener
// re-arms after the first conn closes).
func TestSHSEchoOverSerial(t *testing.T) {
	m := newMSLink(t)
	<-m.opened
	m.echo(t, 1<<20)
	<-m.opened // re-opened once the server closed the first conn
	m.echo(t, 1<<20)
}

// TestGarbageBeforeHandshake: garbage on the line fails that handshake,
// the listener re-arms, and the next client gets through.
func TestGarbageBeforeHandshake(t *testing.T) {
	m := newMSLink(t)
	<-m.opened
	junk := dialPath(t, m.link.B, 0)
	if _, err := junk.Write(bytes.Repeat([]byte("garbage!"), 8)); err != nil { // one shs hello's worth
		t.Fatal(err)
	}
	junk.Close()
	if err := <-m.errs; !errors.Is(err, ms.ErrHandshake) {
		t.Fatalf("listener reported %v; want a handshake failure", err)
	}
	<-m.opened
	m.echo(t, 4096)
}
