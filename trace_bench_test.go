package multiserver_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/connbench"
)

// The trace benchmarks measure what a Trace costs: "hook=nil" is the
// default, "hook=set" has every hook set (to functions that do nothing).
// net~shs over loopback TCP; a handshake op is one dial, accept and close.
// cpu-ns/op is the process's CPU time per op (getrusage), steadier than
// wall time on a shared machine.
//
//	go test -run '^$' -bench 'BenchmarkTrace' -count 6 . | benchstat -col /hook -
var traceHooks = []struct {
	name  string
	trace *ms.Trace
}{
	{"nil", nil},
	{"set", &ms.Trace{
		DialStart:      func(ms.DialStartInfo) {},
		ConnectStart:   func(ms.ConnectInfo) {},
		ConnectDone:    func(ms.ConnectInfo) {},
		DialDone:       func(ms.DialDoneInfo) {},
		Accept:         func(ms.AcceptInfo) {},
		HandshakeStart: func(ms.HandshakeInfo) {},
		HandshakeDone:  func(ms.HandshakeInfo) {},
		Closed:         func(ms.CloseInfo) {},
	}},
}

func BenchmarkTraceHandshake(b *testing.B) {
	for _, h := range traceHooks {
		b.Run("hook="+h.name, func(b *testing.B) {
			cfg := ms.Config{Trace: h.trace}
			ln, err := (&ms.ListenConfig{Config: cfg}).Listen(context.Background(), "net:127.0.0.1:0~shs")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			d := &ms.Dialer{Config: cfg}
			addr := ln.Addr().String()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				c, err := d.DialContext(ctx, addr)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

func tracedPair(b *testing.B, tr *ms.Trace) (client, server net.Conn) {
	b.Helper()
	cfg := ms.Config{Trace: tr}
	ln, err := (&ms.ListenConfig{Config: cfg}).Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); ch <- c }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err = (&ms.Dialer{Config: cfg}).DialContext(ctx, ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if server = <-ch; server == nil {
		b.Fatal("accept failed")
	}
	return client, server
}

func BenchmarkTraceOneWay(b *testing.B) {
	for _, h := range traceHooks {
		b.Run("hook="+h.name, func(b *testing.B) {
			c, s := tracedPair(b, h.trace)
			cpu0, cpuOK := processCPU()
			connbench.OneWay(b, c, s)
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// TestConnSteadyStateAllocs: an established *Conn allocates nothing per
// Write and Read, with or without a Trace.
func TestConnSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	for _, h := range traceHooks {
		t.Run("hook="+h.name, func(t *testing.T) {
			cfg := ms.Config{Trace: h.trace}
			ln := listen(t, &ms.ListenConfig{Config: cfg}, "net:127.0.0.1:0~shs")
			ch := make(chan net.Conn, 1)
			go func() { c, _ := ln.Accept(); ch <- c }()
			cc, err := (&ms.Dialer{Config: cfg}).DialContext(context.Background(), ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			sc := <-ch
			if sc == nil {
				t.Fatal("accept failed")
			}
			defer sc.Close()
			for _, size := range []int{1, 4096, 32 << 10} {
				msg, buf := make([]byte, size), make([]byte, size)
				roundTrip := func() {
					if _, err := cc.Write(msg); err != nil {
						t.Fatal(err)
					}
					if _, err := io.ReadFull(sc, buf); err != nil {
						t.Fatal(err)
					}
				}
				roundTrip()
				if avg := testing.AllocsPerRun(200, roundTrip); avg != 0 {
					t.Errorf("%d-byte Write+Read: %.2f allocations, want 0", size, avg)
				}
			}
		})
	}
}
