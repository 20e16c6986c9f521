//go:build unix

package tcp

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

func TestReusePort(t *testing.T) {
	ctx := context.Background()
	sec := func(port int) msaddr.Section {
		return msaddr.Section{Name: "net", Args: []string{"127.0.0.1", strconv.Itoa(port)}}
	}
	plain := New(nil)
	a, err := plain.Listen(ctx, sec(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	port := a.Addr().(*net.TCPAddr).Port
	// Without the option a second bind fails...
	if b, err := plain.Listen(ctx, sec(port), nil); err == nil {
		b.Close()
		t.Fatal("second plain Listen on a bound port succeeded")
	}
	a.Close()
	// ...with it, two listeners share the port.
	rp := New(&Options{ReusePort: true})
	a, err = rp.Listen(ctx, sec(0), []stack.Scope{stack.Device})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	port = a.Addr().(*net.TCPAddr).Port
	b, err := rp.Listen(ctx, sec(port), []stack.Scope{stack.Device})
	if err != nil {
		t.Fatalf("ReusePort second Listen: %v", err)
	}
	defer b.Close()
	ep, err := rp.Parse(sec(port))
	if err != nil {
		t.Fatal(err)
	}
	c, err := rp.Dial(ctx, ep)
	if err != nil {
		t.Fatalf("Dial through a shared port: %v", err)
	}
	c.Close()
}
