package interop

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// benchSize is the payload echoed per iteration.
const benchSize = 4 << 20

// BenchmarkNetSHS measures net+shs echo throughput on loopback between
// every pair of implementations. Each pair reports echo-MB/s: payload bytes
// divided by the time from the end of the handshake to the last echoed
// byte (node start-up and the handshake are not counted, so the four
// figures compare). Run with a small fixed count, e.g.
//
//	go test -run '^$' -bench NetSHS -benchtime 5x ./interop/
func BenchmarkNetSHS(b *testing.B) {
	requireJS(b)
	b.Run("GoClient-GoServer", func(b *testing.B) {
		srv := startGoServer(b, shsListenConfig(), "net:127.0.0.1:0~shs")
		benchGoClient(b, srv.Addr())
	})
	b.Run("GoClient-JSServer", func(b *testing.B) {
		srv := startJSServer(b, jsServerOpts{stacks: "net"})
		benchGoClient(b, srv.Addr)
	})
	b.Run("JSClient-GoServer", func(b *testing.B) {
		srv := startGoServer(b, shsListenConfig(), "net:127.0.0.1:0~shs")
		benchJSClient(b, srv.Addr(), func() { srv.result(b) })
	})
	b.Run("JSClient-JSServer", func(b *testing.B) {
		srv := startJSServer(b, jsServerOpts{stacks: "net"})
		benchJSClient(b, srv.Addr, func() { srv.expect(b, "end") })
	})
}

// benchGoClient echoes benchSize bytes per iteration over one conn.
func benchGoClient(b *testing.B, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := shsDialer().DialContext(ctx, addr)
	if err != nil {
		b.Fatalf("Dial(%q): %v", addr, err)
	}
	defer func() {
		c.(*ms.Conn).CloseWrite()
		c.Close()
	}()
	msg := pattern(0, benchSize)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := echoOn(c, msg); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(benchSize)*float64(b.N)/total.Seconds()/1e6, "echo-MB/s")
}

var echoMS = regexp.MustCompile(`echo_ms=([0-9.]+)`)

// benchJSClient runs one JS client per iteration and adds up the echo time
// each reports; done waits for the server side of that conn to finish.
func benchJSClient(b *testing.B, addr string, done func()) {
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		r := runJSClient(b, addr, benchSize, jsClientOpts{})
		if r.code != 0 {
			b.Fatalf("JS client: %v", r)
		}
		m := echoMS.FindStringSubmatch(r.stdout)
		if m == nil {
			b.Fatalf("JS client printed no echo_ms: %v", r)
		}
		ms, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Duration(ms * float64(time.Millisecond))
		done()
	}
	b.ReportMetric(float64(benchSize)*float64(b.N)/total.Seconds()/1e6, "echo-MB/s")
}
