package interop

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// concurrentConns is how many conns per transport run at once.
const concurrentConns = 4

// TestConcurrentGoClients runs several Go conns at once over every shs
// transport against one JS server, each with its own payload, so that
// crossed streams would show as differing echoes.
func TestConcurrentGoClients(t *testing.T) {
	requireJS(t)
	srv := startJSServer(t, jsServerOpts{stacks: strings.Join(shsTransports, ",")})
	const n = 256 << 10
	var wg sync.WaitGroup
	errs := make(chan error, concurrentConns*len(shsTransports))
	for _, tr := range shsTransports {
		addr := srv.part(t, tr)
		for k := range concurrentConns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				c, err := shsDialer().DialContext(ctx, addr)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				if err := echoOn(c, pattern(1+k*7, n)); err != nil {
					errs <- err
					return
				}
				if err := c.(*ms.Conn).CloseWrite(); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range concurrentConns * len(shsTransports) {
		e, _ := srv.expect(t, "end")
		if e.Bytes != n || e.End != "goodbye" {
			t.Errorf("JS server: a stream ended after %d bytes with %q; want %d and the goodbye", e.Bytes, e.End, n)
		}
	}
}

// TestConcurrentJSClients runs several JS clients at once over every shs
// transport against one Go listener.
func TestConcurrentJSClients(t *testing.T) {
	requireJS(t)
	srv := startGoServer(t, shsListenConfig(), goListenAll("127.0.0.1"))
	parts := strings.Split(srv.Addr(), ";")
	const n = 256 << 10
	type result struct {
		tr string
		r  jsResult
	}
	var wg sync.WaitGroup
	results := make(chan result, concurrentConns*len(parts))
	for i, addr := range parts {
		for range concurrentConns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- result{shsTransports[i], runJSClient(t, addr, n, jsClientOpts{})}
			}()
		}
	}
	wg.Wait()
	close(results)
	for r := range results {
		// Over ws the Go server's final goodbye can be lost (README, "ws
		// close"); the echo must be complete either way.
		if r.r.code != 0 && !(r.tr == "ws" && r.r.code == 3 && endedAtFrameBoundary(r.r.stderr)) {
			t.Errorf("JS client over %s: %v", r.tr, r.r)
		}
	}
	for range concurrentConns * len(parts) {
		g := srv.result(t)
		if g.bytes != n || g.readErr != nil {
			t.Errorf("Go server (%s): echoed %d bytes, peer end %v; want %d and the goodbye", g.stack, g.bytes, g.readErr, n)
		}
	}
}
