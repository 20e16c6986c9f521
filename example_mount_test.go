package multiserver_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/stack"
)

// ws~shs at a path of the http.Server a program already runs: the server
// keeps its own routes, and the multiserver listener advertises the
// mount point's URL.
func Example_mountOnYourServer() {
	// The program's server, with a route of its own.
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the app's home page") })
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}

	// Mount ws~shs at /ssb. Bound gives the server the HTTP-phase bounds
	// of a ws listener's own (header time and size, conns not yet
	// upgraded). The listen address is the URL clients dial.
	h := ws.New(nil).Handler()
	mux.Handle("/ssb", h)
	go srv.Serve(h.Bound(srv, tl))
	defer srv.Close()
	lc := ms.ListenConfig{Config: ms.Config{Transports: []stack.Transport{h}}}
	ln, err := lc.Listen(context.Background(), "ws://"+tl.Addr().String()+"/ssb~shs")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	adv := ln.Addr().String()
	fmt.Println(strings.HasPrefix(adv, "ws://"+tl.Addr().String()+"/ssb~shs:"))

	c, err := ms.Dial(context.Background(), adv)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	io.ReadFull(c, buf)
	fmt.Printf("ws~shs echo: %s\n", buf)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + tl.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("GET /: %s\n", body)
	// Output:
	// true
	// ws~shs echo: ping
	// GET /: the app's home page
}
