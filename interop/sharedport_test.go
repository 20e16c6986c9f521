package interop

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/stack"
)

// TestSharedPortAllClients: one Go listener serves net~shs, ws~shs and
// plain HTTP on one loopback port, and at once a JS multiserver 3.8.2
// net+shs client, a JS ws+shs client, a Go net~shs client, a Go ws~shs
// client and an HTTP GET all succeed; each shs client echoes 1 MiB each
// way and compares it (the JS client byte for byte, then its goodbye).
func TestSharedPortAllClients(t *testing.T) {
	requireJS(t)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := tl.Addr().(*net.TCPAddr).Port
	tl.Close()
	lc := shsListenConfig()
	lc.Config.Transports = []stack.Transport{ws.New(&ws.Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "plain HTTP on the shared port")
	})})}
	srv := startGoServer(t, lc, fmt.Sprintf("net:127.0.0.1:%d~shs;ws://127.0.0.1:%d~shs", port, port))
	parts := srv.ln.Address(ms.Device)
	if len(parts) != 2 {
		t.Fatalf("advertised %v, want net and ws", parts)
	}
	const n = 1 << 20
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for _, a := range parts {
		addr := a.String()
		wg.Add(2)
		go func() {
			defer wg.Done()
			r := runJSClient(t, addr, n, jsClientOpts{})
			// Over ws the Go server's final goodbye can be lost (README,
			// "ws close"); the echo must be complete either way.
			if r.code != 0 && !(a[0].Name == "ws" && r.code == 3 && endedAtFrameBoundary(r.stderr)) {
				errs <- fmt.Errorf("JS client over %s: %v", a[0].Name, r)
			}
		}()
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := shsDialer().DialContext(ctx, addr)
			if err != nil {
				errs <- fmt.Errorf("Go client over %s: %w", a[0].Name, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if err := echoOn(c, pattern(3, n)); err != nil {
				errs <- fmt.Errorf("Go client over %s: %w", a[0].Name, err)
				return
			}
			c.(*ms.Conn).CloseWrite()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			errs <- fmt.Errorf("GET: %w", err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "plain HTTP on the shared port" {
			errs <- fmt.Errorf("GET: %s %q", resp.Status, body)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	stacks := map[string]int{}
	for range 4 {
		g := srv.result(t)
		stacks[g.stack]++
		if g.bytes != n {
			t.Errorf("Go server (%s): echoed %d bytes, want %d", g.stack, g.bytes, n)
		}
	}
	if stacks["net~shs"] != 2 || stacks["ws~shs"] != 2 {
		t.Errorf("Go server served %v, want two conns on each of net~shs and ws~shs", stacks)
	}
}
