package shs_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/secure/shs"
)

func TestListenerAcceptDoesNotHandshake(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := shs.NewListener(inner, serverConfig())
	defer ln.Close()
	silent, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	first, err := ln.Accept() // the silent client: returned at once
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if first.(*shs.Conn).RemoteKey() != nil {
		t.Fatal("RemoteKey before the handshake")
	}
	errc := make(chan error, 1)
	go func() {
		d := &shs.Dialer{Config: clientConfig()}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err == nil {
			_, err = c.Write([]byte("hi"))
			c.Close()
		}
		errc <- err
	}()
	good, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	buf := make([]byte, 2)
	if _, err := good.Read(buf); err != nil || string(buf) != "hi" {
		t.Fatalf("Read = %q, %v", buf, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

func TestDialerContext(t *testing.T) {
	// A TCP server that accepts and never answers.
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := inner.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	d := &shs.Dialer{Config: clientConfig()}
	start := time.Now()
	_, err = d.DialContext(ctx, "tcp", inner.Addr().String())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialContext = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("DialContext returned after %v", d)
	}
	if c := <-accepted; c != nil {
		c.Close()
	}
}
