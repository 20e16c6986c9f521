package stacktest_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
	"github.com/go-multiserver/multiserver/stack/stacktest"
)

// xorTransform is a toy transform, "xor:KEY": both ends XOR every byte
// with the one-byte KEY that the listener advertises. It hides nothing
// from anyone; it shows the shape of a transform.
type xorTransform struct{ key byte }

func (xorTransform) Name() string { return "xor" }

// xorEndpoint is a parsed "xor:KEY": the key, decoded once by Parse.
type xorEndpoint byte

// Section prints the key in lower-case hex.
func (k xorEndpoint) Section() msaddr.Section {
	return msaddr.Section{Name: "xor", Args: []string{hex.EncodeToString([]byte{byte(k)})}}
}

// Parse accepts "xor:KEY", KEY one byte in hex.
func (xorTransform) Parse(s msaddr.Section) (stack.Endpoint, error) {
	if s.Name != "xor" || len(s.Args) != 1 {
		return nil, fmt.Errorf("%w: want xor:KEY", stack.ErrAddress)
	}
	b, err := hex.DecodeString(s.Args[0])
	if err != nil || len(b) != 1 {
		return nil, fmt.Errorf("%w: xor:KEY, KEY one byte in hex", stack.ErrAddress)
	}
	return xorEndpoint(b[0]), nil
}

// Client takes the key from the endpoint Parse returned.
func (xorTransform) Client(ctx context.Context, c net.Conn, ep stack.Endpoint) (net.Conn, error) {
	k, ok := ep.(xorEndpoint)
	if !ok {
		return nil, fmt.Errorf("%w: %T is not an xor endpoint", stack.ErrAddress, ep)
	}
	return &xorConn{Conn: c, key: byte(k)}, nil
}

func (t xorTransform) Listen(s msaddr.Section, ln stack.Listener) (stack.ServerTransform, error) {
	if len(s.Args) != 0 {
		return nil, fmt.Errorf("%w: listen on plain xor", stack.ErrAddress)
	}
	return t, nil
}

func (t xorTransform) Advertise() msaddr.Section {
	return msaddr.Section{Name: "xor", Args: []string{hex.EncodeToString([]byte{t.key})}}
}

func (t xorTransform) Server(ctx context.Context, c net.Conn) (net.Conn, error) {
	return &xorConn{Conn: c, key: t.key}, nil
}

type xorConn struct {
	net.Conn
	key byte
}

func (c *xorConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for i := range p[:n] {
		p[i] ^= c.key
	}
	return n, err
}

func (c *xorConn) Write(p []byte) (int, error) {
	q := make([]byte, len(p)) // never change the caller's bytes
	for i, b := range p {
		q[i] = b ^ c.key
	}
	return c.Conn.Write(q)
}

// The custom transform passes the conformance suite.
func TestXORTransform(t *testing.T) {
	stacktest.TestTransform(t, xorTransform{key: 0x2a})
}

// A custom transform, tested with the suite (TestXORTransform above), is
// used through multiserver like a built-in, here over the in-memory
// transport: no socket is opened.
func Example_customTransform() {
	mem := stacktest.NewTransport("mem")
	cfg := ms.Config{Transports: []stack.Transport{mem}, Transforms: []stack.Transform{xorTransform{key: 0x2a}}}
	ln, err := (&ms.ListenConfig{Config: cfg}).Listen(context.Background(), "mem~xor")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	fmt.Println("listening on", ln.Addr())

	c, err := (&ms.Dialer{Config: cfg}).DialContext(context.Background(), ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Fprint(c, "hello")
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("echo %q over %s\n", buf, c.(*ms.Conn).Stack())
	// Output:
	// listening on mem:listener-1~xor:2a
	// echo "hello" over mem~xor
}
