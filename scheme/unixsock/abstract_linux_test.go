package unixsock

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
)

func TestAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@ms-test-%d", os.Getpid())
	sec := msaddr.Section{Name: "unix", Args: []string{name}}
	tr := New(nil)
	ln, err := tr.Listen(context.Background(), sec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Listen(context.Background(), sec, nil); err == nil {
		t.Fatal("second Listen on a live abstract name succeeded")
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, err = c.Write([]byte("x"))
			c.Close()
		}
		done <- err
	}()
	ep, err := tr.Parse(sec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tr.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("Read = %q, %v", b, err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ln.Close()
	// No file is left behind: the name is free at once.
	ln, err = tr.Listen(context.Background(), sec, nil)
	if err != nil {
		t.Fatalf("re-Listen after Close: %v", err)
	}
	ln.Close()
}
