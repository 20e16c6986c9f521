package multiserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/procstat"
	"github.com/go-multiserver/multiserver/scheme/ws"
)

// TestSoakStalledHandshakes floods a default ListenConfig with 1,200
// conns from 200 loopback source addresses (127.0.0.2 to 127.0.0.201)
// that each send a valid shs hello and then stay silent, reconnecting when
// the server closes them; meanwhile a legitimate client dials every 25 ms
// for 5 s from 127.0.0.1 and times each Dial, handshake included. Once
// over net~shs and once over ws~shs. Not for CI (a minute, 2,400 conns):
//
//	go test -run '^TestSoakStalledHandshakes$' -v .
func TestSoakStalledHandshakes(t *testing.T) {
	procstat.SkipUnlessSelected(t)
	if c, err := net.Listen("tcp", "127.0.0.201:0"); err != nil {
		t.Skipf("cannot bind 127.0.0.201 (the attackers' source addresses): %v", err)
	} else {
		c.Close()
	}
	if err := procstat.RaiseFileLimit(16384); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"net", "ws"} {
		t.Run(st, func(t *testing.T) { stalledHandshakes(t, st) })
	}
}

const (
	stallers = 1200
	sources  = 200
)

func stalledHandshakes(t *testing.T, st string) {
	listenAddr := "net:127.0.0.1:0~shs"
	if st == "ws" {
		listenAddr = "ws://127.0.0.1:0~shs"
	}
	// Default limits; OnError only counts the handshakes shed.
	var shed atomic.Int64
	lc := &ms.ListenConfig{OnError: func(err error) {
		if errors.Is(err, ms.ErrShed) {
			shed.Add(1)
		}
	}}
	ln, err := lc.Listen(context.Background(), listenAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Address(ms.Device)
	target := addr.String()
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	hello := validHello(t)
	var stalled, reconnects atomic.Int64
	var wg sync.WaitGroup
	for i := range stallers {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%sources))}
		nd := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
		dial := func(ctx context.Context) (net.Conn, error) {
			return nd.DialContext(ctx, "tcp", addr[0][0].Args[0]+":"+addr[0][0].Args[1])
		}
		if st == "ws" {
			tr := ws.New(&ws.Options{DialContext: nd.DialContext, KeepAlive: -1})
			dial = func(ctx context.Context) (net.Conn, error) { return dialSection(ctx, tr, addr[0][0]) }
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := dial(ctx)
				if err != nil {
					continue
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				var reply [64]byte
				if _, err := c.Write(hello); err == nil {
					if _, err := io.ReadFull(c, reply[:]); err == nil {
						stalled.Add(1)
						io.Copy(io.Discard, c) // silent until the server closes
						stalled.Add(-1)
					}
				}
				stop()
				c.Close()
				if ctx.Err() == nil {
					reconnects.Add(1)
				}
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
		ln.Close()
		<-acceptDone
	}()
	// Wait until the stallers hold the handshake slots (1,024 by default)
	// or the listener has shed as many handshakes as there are stallers
	// (the slots are full: over ws some stallers are always between their
	// connect and their hello).
	deadline := time.Now().Add(30 * time.Second)
	for stalled.Load() < ms.DefaultMaxHandshakes && shed.Load() < stallers && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling a counter for a report, not synchronisation of the result
	}
	t.Logf("%s: %d stallers hold a handshake (answered hello, silent), %d reconnects and %d shed so far", st, stalled.Load(), reconnects.Load(), shed.Load())

	var mu sync.Mutex
	var lat, conn, shake []time.Duration // whole Dial; its connect (TCP, and for ws the upgrade); its handshake
	var fails []error
	var lwg sync.WaitGroup
	r0 := reconnects.Load()
	start := time.Now()
	tick := time.NewTicker(25 * time.Millisecond)
	for range 200 {
		<-tick.C
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer dcancel()
			var cd, hd time.Duration
			tr := &ms.Trace{
				ConnectDone:   func(i ms.ConnectInfo) { cd = i.Duration },
				HandshakeDone: func(i ms.HandshakeInfo) { hd = i.Duration },
			}
			t0 := time.Now()
			c, err := (&ms.Dialer{Config: ms.Config{Trace: tr}}).DialContext(dctx, target)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err)
				return
			}
			c.Close()
			lat = append(lat, d)
			conn = append(conn, cd)
			shake = append(shake, hd)
		}()
	}
	tick.Stop()
	lwg.Wait()
	took := time.Since(start)
	churn := float64(reconnects.Load()-r0) / took.Seconds()
	slices.Sort(lat)
	slices.Sort(conn)
	slices.Sort(shake)
	quant := func(s []time.Duration, p int) time.Duration {
		if len(s) == 0 {
			return 0
		}
		return s[min(len(s)-1, (len(s)*p+99)/100-1)].Round(time.Millisecond)
	}
	q := func(p int) time.Duration { return quant(lat, p) }
	t.Logf("%s: legitimate dials: %d ok, %d failed; p50 %v, p90 %v, p99 %v, max %v; stallers reconnected %.0f/s; %d stalled at the end",
		st, len(lat), len(fails), q(50), q(90), q(99), q(100), churn, stalled.Load())
	t.Logf("%s: of which connect (TCP%s) p50 %v, p99 %v; handshake p50 %v, p99 %v",
		st, map[bool]string{true: " and upgrade"}[st == "ws"], quant(conn, 50), quant(conn, 99), quant(shake, 50), quant(shake, 99))
	for i, err := range fails {
		if i < 3 {
			t.Logf("failure: %v", err)
		}
	}
	if len(fails) > 0 || q(99) >= 500*time.Millisecond {
		t.Errorf("%s: goal missed: p99 %v (goal < 500 ms), %d failures (goal 0)", st, q(99), len(fails))
	}
}
