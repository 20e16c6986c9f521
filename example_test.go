package multiserver_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"

	ms "github.com/go-multiserver/multiserver"
)

// serveUpper answers every conn of ln with what it reads, upper-cased,
// until the client closes its side.
func serveUpper(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b, _ := io.ReadAll(c)
			c.Write([]byte(strings.ToUpper(string(b))))
		}()
	}
}

// Listen and Dial over TCP on loopback. The listener's Addr is the full
// advertised address; a client passes it to Dial as is.
func Example_net() {
	ln, err := ms.Listen("net:127.0.0.1:0~noauth")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go serveUpper(ln)

	c, err := ms.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello over net"))
	c.(*ms.Conn).CloseWrite() // half-close: the server sees EOF
	reply, _ := io.ReadAll(c)
	fmt.Println(string(reply))
	fmt.Println(strings.HasPrefix(ln.Addr().String(), "net:127.0.0.1:"))
	// Output:
	// HELLO OVER NET
	// true
}

// Listen and Dial over a unix socket. Listen creates the socket with mode
// 0600 and the parent directory with mode 0700.
func Example_unix() {
	dir, err := os.MkdirTemp("", "ms-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "app.sock")

	ln, err := ms.Listen("unix:" + sock + "~noauth")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go serveUpper(ln)

	c, err := ms.Dial(context.Background(), "unix:"+sock+"~noauth")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello over unix"))
	c.(*ms.Conn).CloseWrite()
	reply, _ := io.ReadAll(c)
	fmt.Println(string(reply))
	fmt.Println(ln.Addr().String() == "unix:"+sock+"~noauth")
	// Output:
	// HELLO OVER UNIX
	// true
}
