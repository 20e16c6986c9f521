package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	ms "github.com/go-multiserver/multiserver"
)

// An http.Server over net~shs that lets in one client key. The handler
// learns the caller's key, which the shs handshake proved, from the
// request context.
func ExampleConnContext() {
	// The client's long-term key; in real life loaded from a secret file.
	alice := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{'a'}, 32))
	allowed := alice.Public().(ed25519.PublicKey)

	ln, err := ms.Listen("net:127.0.0.1:0~shs")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		ConnContext: ms.ConnContext, // makes RemoteKeyFromContext work
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := ms.RemoteKeyFromContext(r.Context())
			if !key.Equal(allowed) {
				http.Error(w, "unknown key", http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "hello %s", base64.StdEncoding.EncodeToString(key))
		}),
	}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	defer func() { srv.Shutdown(context.Background()); <-done }()

	for _, id := range []ed25519.PrivateKey{alice, nil /* a fresh random key */} {
		d := &ms.Dialer{Config: ms.Config{Identity: id}}
		tr := ms.NewHTTPTransport(d, ms.Hosts{"app": ln.Addr().String()}.Resolve)
		resp, err := (&http.Client{Transport: tr}).Get("http://app/")
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		fmt.Printf("%s: %s\n", resp.Status, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 OK: hello rwaj4ykXFOTzVsGcmxXNGVHsbmZiqne+B1R/KJODNB0=
	// 403 Forbidden: unknown key
}

// An HTTP client reaching services by their multiserver addresses. Hosts
// maps the host of each URL to the address to dial; the server is
// authenticated by the key in its address, so the URLs are plain http.
func ExampleNewHTTPTransport() {
	ln, err := ms.Listen("net:127.0.0.1:0~shs")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	})}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	defer func() { srv.Shutdown(context.Background()); <-done }()

	// ln.Addr() is net:127.0.0.1:PORT~shs:<server key>.
	tr := ms.NewHTTPTransport(nil, ms.Hosts{"inventory": ln.Addr().String()}.Resolve)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for _, url := range []string{"http://inventory/items", "http://inventory/items/7"} {
		resp, err := client.Get(url)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	_, err = client.Get("http://billing/")
	fmt.Println(err)
	// Output:
	// GET /items
	// GET /items/7
	// Get "http://billing/": lookup billing:80: multiserver: no address for host
}

// Moving an existing HTTP service onto multiserver is one line: the
// listener. The handlers, the server and its Shutdown stay as they were.
func Example_httpServer() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "pong")
	})

	// ln, err := net.Listen("tcp", "127.0.0.1:8080")
	ln, err := ms.Listen("net:127.0.0.1:0~shs")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	done := make(chan struct{})
	go func() {
		if err := srv.Serve(ln); err != http.ErrServerClosed {
			log.Print(err)
		}
		close(done)
	}()

	// Clients dial the advertised address, which carries the server's key.
	tr := ms.NewHTTPTransport(nil, ms.Hosts{"svc": ln.Addr().String()}.Resolve)
	resp, err := (&http.Client{Transport: tr}).Get("http://svc/ping")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	// Shutdown closes the listener and the idle conns (for shs, with the
	// goodbye) and waits for requests in flight.
	if err := srv.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
	<-done
	tr.CloseIdleConnections()
	fmt.Println("shut down")
	// Output:
	// pong
	// shut down
}
