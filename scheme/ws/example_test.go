package ws_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/stack"
)

// A ws listener on loopback that also answers plain HTTP, and a client
// that dials it on a path of its choice.
func Example() {
	tr := ws.New(&ws.Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "plain HTTP works too\n")
	})})
	ln, err := tr.Listen(context.Background(), msaddr.Section{Name: "ws"}, []stack.Scope{stack.Device})
	if err != nil {
		panic(err)
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

	s, _ := msaddr.ParseSection("ws://" + ln.Addr().String() + "/any/path")
	ep, err := tr.Parse(s) // once; Dial takes the endpoint
	if err != nil {
		panic(err)
	}
	c, err := tr.Dial(context.Background(), ep)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	buf := make([]byte, 5)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))

	adv := ln.Advertise(stack.Device)[0].String()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	fmt.Println(adv == "ws://127.0.0.1:"+port)
	// Output:
	// hello
	// plain HTTP works too
	// true
}
