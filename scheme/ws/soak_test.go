package ws

import (
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/internal/procstat"
)

// TestSoakHeaderFlood opens 300 conns to a ws listener that each send
// about 1 MiB of request headers without the final CRLF, once with the
// settings before issue 15 (1 MiB MaxHeaderBytes, 10 s header timeout, no
// bound on conns in their HTTP phase) and once with the defaults, and
// reports the heap and RSS the server holds for them. Not for CI:
//
//	go test -run '^TestSoakHeaderFlood$' -v ./scheme/ws
func TestSoakHeaderFlood(t *testing.T) {
	procstat.SkipUnlessSelected(t)
	const conns, headerBytes = 300, 1 << 20
	if err := procstat.RaiseFileLimit(2*conns + 256); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opts *Options
	}{
		{"defaults", nil},
		{"before (1 MiB headers, 10 s, no bound)", &Options{MaxHeaderBytes: 1 << 20, ReadHeaderTimeout: 10 * time.Second, MaxHTTPConns: -1}},
	} {
		runtime.GC()
		heap0, rss0 := heapInuse(), procstat.RSS()
		ln := listenT(t, New(tt.opts), "ws://127.0.0.1:0")
		pad := []byte(strings.Repeat("a", 32<<10))
		var wg sync.WaitGroup
		var mu sync.Mutex
		sent, refused := 0, 0
		cs := make([]net.Conn, 0, conns)
		start := time.Now()
		for range conns {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ")
				n := 0
				for n < headerBytes {
					m, err := c.Write(pad)
					n += m
					if err != nil {
						break
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if n >= headerBytes {
					sent++
				} else {
					refused++
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		// What the server holds while the conns wait for their header
		// timeout (the clients neither close nor finish).
		heap1, rss1 := heapInuse(), procstat.RSS()
		open := 0
		for _, c := range cs {
			c.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != nil && isTimeoutErr(err) {
				open++
			}
		}
		t.Logf("%s: %d conns x %d header bytes in %v: %d wrote it all, %d cut off; server+client heap in use %+.1f MiB, RSS %+.1f MiB; %d conns still open",
			tt.name, conns, headerBytes, took.Round(time.Millisecond), sent, refused,
			float64(heap1-heap0)/(1<<20), float64(rss1-rss0)/(1<<20), open)
		for _, c := range cs {
			c.Close()
		}
		ln.Close()
	}
}

func heapInuse() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
