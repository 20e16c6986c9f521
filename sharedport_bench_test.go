package multiserver_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/connbench"
)

// The cost of sharing a port: net~shs on a port of its own against
// net~shs on a port it shares with ws~shs (each conn's first bytes
// peeked and its hello's HMAC checked), in the same run:
//
//	go test -run '^$' -bench 'BenchmarkSharedPortHandshake' -benchtime 300x -count 6 . | tee hs.txt
//	go test -run '^$' -bench 'BenchmarkSharedPortOneWay' -benchtime 5x -count 6 . | tee oneway.txt
//	benchstat -col /port hs.txt oneway.txt

// portListener listens on net~shs alone or shared with ws~shs and
// returns the listener and its net~shs alternative.
func portListener(b *testing.B, port string) (*ms.Listener, string) {
	b.Helper()
	addr := "net:127.0.0.1:0~shs"
	if port == "shared" {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		p := tl.Addr().(*net.TCPAddr).Port
		tl.Close()
		addr = fmt.Sprintf("net:127.0.0.1:%d~shs;ws://127.0.0.1:%d~shs", p, p)
	}
	ln, err := (&ms.ListenConfig{}).Listen(context.Background(), addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln, ln.Address(ms.Device)[0].String()
}

// BenchmarkSharedPortHandshake: one op is a net~shs dial, handshake
// included, and its close.
func BenchmarkSharedPortHandshake(b *testing.B) {
	// Baselines in the same run: a loopback TCP connect and close (the
	// floor), and a TLS 1.3 handshake (ed25519 certificate, X25519) over
	// it, the server's handshake off its accept loop as the Listener's.
	b.Run("port=tcp", func(b *testing.B) {
		benchBaselineHandshake(b, func(ln net.Listener) net.Listener { return ln }, (&net.Dialer{}).DialContext)
	})
	b.Run("port=tls", func(b *testing.B) {
		scfg, ccfg := connbench.TLSConfigs(b)
		d := &tls.Dialer{Config: ccfg}
		benchBaselineHandshake(b, func(ln net.Listener) net.Listener { return tls.NewListener(ln, scfg) }, d.DialContext)
	})
	for _, port := range []string{"dedicated", "shared"} {
		b.Run("port="+port, func(b *testing.B) {
			ln, addr := portListener(b, port)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			d := &ms.Dialer{}
			dialLoop(b, func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, addr) })
		})
	}
}

// BenchmarkSharedPortOneWay: 64 MiB one way over a net~shs conn (internal/
// connbench), made before the timer starts; port=tcp is plain loopback
// TCP for scale.
func BenchmarkSharedPortOneWay(b *testing.B) {
	b.Run("port=tcp", func(b *testing.B) {
		c, srv := stackPair(b, "tcp")
		connbench.OneWay(b, c, srv)
	})
	for _, port := range []string{"dedicated", "shared"} {
		b.Run("port="+port, func(b *testing.B) {
			ln, addr := portListener(b, port)
			ch := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					close(ch)
					return
				}
				ch <- c
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := ms.Dial(ctx, addr)
			if err != nil {
				b.Fatal(err)
			}
			srv, ok := <-ch
			if !ok {
				b.Fatal("accept failed")
			}
			connbench.OneWay(b, c, srv)
		})
	}
}

// benchBaselineHandshake is BenchmarkSharedPortHandshake's op for a plain
// net.Listener: dial (the handshake included, for TLS), close; the server
// completes its side in a goroutine per conn and closes.
func benchBaselineHandshake(b *testing.B, wrap func(net.Listener) net.Listener, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ln := wrap(tl)
	var wg sync.WaitGroup
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				if tc, ok := c.(*tls.Conn); ok {
					tc.Handshake()
				}
				c.Close()
			})
		}
	})
	dialLoop(b, func(ctx context.Context) (net.Conn, error) { return dial(ctx, "tcp", tl.Addr().String()) })
}

// dialLoop is BenchmarkSharedPortHandshake's timed loop: dial, close, and
// the rate and CPU time per op. Both ends run in this process: CPU time
// per handshake is less sensitive than wall time to other work on the
// machine.
func dialLoop(b *testing.B, dial func(context.Context) (net.Conn, error)) {
	ctx := context.Background()
	cpu0, cpuOK := processCPU()
	for b.Loop() {
		c, err := dial(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}
