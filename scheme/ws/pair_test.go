package ws

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// listenT listens on a free loopback port with tr and closes the listener
// when the test ends.
func listenT(t testing.TB, tr *Transport, section string) *Listener {
	t.Helper()
	s, err := msaddr.ParseSection(section)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tr.Listen(context.Background(), s, []stack.Scope{stack.Device})
	if err != nil {
		t.Fatalf("Listen(%q): %v", section, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*Listener)
}

// dialSection is the section that dials ln on the given path.
func dialEndpoint(t testing.TB, tr *Transport, ln *Listener, path string) stack.Endpoint {
	t.Helper()
	u := tr.Name() + "://" + ln.Addr().String() + path
	s, err := msaddr.ParseSection(u)
	if err != nil {
		t.Fatalf("ParseSection(%q): %v", u, err)
	}
	ep, err := tr.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return ep
}

// pair returns a dialed and an accepted conn between client and server.
func pair(t testing.TB, client, server *Transport) (dialed, accepted *Conn) {
	t.Helper()
	ln := listenT(t, server, server.Name()+"://127.0.0.1:0")
	return pairOn(t, client, ln, "/")
}

func pairOn(t testing.TB, client *Transport, ln *Listener, path string) (dialed, accepted *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	d, err := client.Dial(ctx, dialEndpoint(t, client, ln, path))
	if err != nil {
		ln.Close()
		<-ch
		t.Fatalf("Dial: %v", err)
	}
	r := <-ch
	if r.err != nil {
		d.Close()
		t.Fatalf("Accept: %v", r.err)
	}
	return d.(*Conn), r.c.(*Conn)
}
