package shs_test

import (
	"bytes"
	"net"
	"runtime"
	"sync"
	"testing"
)

// TestIdleConnHeap holds established conns the way a server does, with a
// Read pending on every one, and checks the heap they keep: a conn waiting
// for its peer must not hold a receive buffer (a pooled 40 KiB buffer per
// pending Read would be ~10x over the limit). The limit is per end and
// includes the TCP socket's own Go objects.
func TestIdleConnHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 400 loopback connections; skipped with -short")
	}
	const n, limit = 200, 6 << 10
	var ms0, ms1 runtime.MemStats
	// Two collections empty the sync.Pools (the second drops their victim
	// caches): buffers pooled by earlier tests must not be freed between
	// the two readings.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	conns := make([]net.Conn, 0, 2*n)
	var wg sync.WaitGroup
	for range n {
		c, s := shsTCP(t)
		c.Write([]byte("ping"))
		s.Read(make([]byte, 4))
		s.Write([]byte("pong"))
		c.Read(make([]byte, 4))
		conns = append(conns, c, s)
		wg.Add(1)
		go func() { // the pending Read of an idle server conn
			defer wg.Done()
			s.Read(make([]byte, 1))
		}()
	}
	// Let every reader block in its Read before measuring.
	stacks := make([]byte, 8<<20)
	for {
		k := runtime.Stack(stacks, true)
		if bytes.Count(stacks[:k], []byte("(*inHalf).fill(")) >= n {
			break
		}
		runtime.Gosched()
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	perConn := float64(ms1.HeapAlloc-ms0.HeapAlloc) / (2 * n)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	t.Logf("heap per idle conn end: %.0f B", perConn)
	if perConn > limit {
		t.Errorf("idle conns hold %.0f B of heap each, want at most %d", perConn, limit)
	}
}
