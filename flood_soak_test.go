package multiserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/procstat"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/ws"
)

// TestSoakStalledHandshakes floods a default ListenConfig with 1,200
// conns from 200 loopback source addresses (127.0.0.2 to 127.0.0.201)
// that each send a valid shs hello and then stay silent, reconnecting when
// the server closes them; meanwhile a legitimate client dials every 25 ms
// for 5 s from 127.0.0.1 and times each Dial, handshake included. Once
// over net~shs and once over ws~shs. The stallers run in a child process
// (TestSoakFlooder), the server and the legitimate client in this one.
// Not for CI (a minute, 2,400 conns):
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

	// The flooders run in a child process (this test binary, re-run as
	// TestSoakFlooder), as an attacker would on another host: the server
	// process's scheduler, heap and collector are its own and the
	// legitimate client's. They share the machine's two cores.
	fl := startFlooder(t, st, addr[0][0])
	stalled, reconnects := &fl.stalled, &fl.reconnects
	defer func() {
		fl.stop(t)
		ln.Close()
		<-acceptDone
	}()
	// Wait until the stallers hold the handshake slots (1,024 by default)
	// or the listener has shed five times as many handshakes as there are
	// stallers (the slots are full and every staller has been through
	// them: over ws some are always between their connect and their
	// hello).
	deadline := time.Now().Add(30 * time.Second)
	for stalled.Load() < ms.DefaultMaxHandshakes && shed.Load() < 5*stallers && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling a counter for a report, not synchronisation of the result
	}
	t.Logf("%s: %d stallers hold a handshake (answered hello, silent), %d reconnects and %d shed so far", st, stalled.Load(), reconnects.Load(), shed.Load())

	r0 := reconnects.Load()
	start := time.Now()
	var lat, conn, shake []time.Duration
	var fails []string
	if os.Getenv("MS_SOAK_CLIENT") == "inprocess" {
		lat, conn, shake, fails = legitDials(target)
	} else {
		lat, conn, shake, fails = legitDialsChild(t, target)
	}
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
			t.Logf("failure: %s", err)
		}
	}
	if len(fails) > 0 || q(99) >= 500*time.Millisecond {
		t.Errorf("%s: goal missed: p99 %v (goal < 500 ms), %d failures (goal 0)", st, q(99), len(fails))
	}
}

// flooder is the child process of a soak that runs the stallers.
type flooder struct {
	cmd                 *exec.Cmd
	stdin               io.Closer
	stalled, reconnects atomic.Int64 // the child's last report
	done                chan struct{}
}

// startFlooder starts the stallers against target (a net or ws section)
// in a child process.
func startFlooder(t *testing.T, st string, target msaddr.Section) *flooder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSoakFlooder$", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), "MS_SOAK_FLOODER="+st, "MS_SOAK_TARGET="+target.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &flooder{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var a, b int64
			if n, _ := fmt.Sscanf(sc.Text(), "flooder: stalled %d reconnects %d", &a, &b); n == 2 {
				f.stalled.Store(a)
				f.reconnects.Store(b)
			}
		}
	}()
	return f
}

// stop ends the child (it stops when its stdin closes) and waits for it.
func (f *flooder) stop(t *testing.T) {
	f.stdin.Close()
	<-f.done
	if err := f.cmd.Wait(); err != nil {
		t.Errorf("flooder process: %v", err)
	}
}

// TestSoakFlooder is the child process of TestSoakStalledHandshakes: 1,200
// conns from 200 loopback source addresses (127.0.0.2 to 127.0.0.201) that
// each send a valid shs hello, read the answer and then stay silent,
// reconnecting when the server closes them, until stdin closes. It reports
// its counts on stdout every 50 ms.
func TestSoakFlooder(t *testing.T) {
	st := os.Getenv("MS_SOAK_FLOODER")
	if st == "" {
		t.Skip("the child process of TestSoakStalledHandshakes")
	}
	if err := procstat.RaiseFileLimit(16384); err != nil {
		t.Fatal(err)
	}
	m, err := msaddr.Parse(os.Getenv("MS_SOAK_TARGET"))
	if err != nil {
		t.Fatal(err)
	}
	target := m[0][0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		io.Copy(io.Discard, os.Stdin) // the parent closes it to stop us
		cancel()
	}()
	hello := validHello(t)
	var stalled, reconnects atomic.Int64
	var wg sync.WaitGroup
	for i := range stallers {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%sources))}
		nd := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
		dial := func(ctx context.Context) (net.Conn, error) {
			return nd.DialContext(ctx, "tcp", net.JoinHostPort(target.Args[0], target.Args[1]))
		}
		if st == "ws" {
			tr := ws.New(&ws.Options{DialContext: nd.DialContext, KeepAlive: -1})
			dial = func(ctx context.Context) (net.Conn, error) { return dialSection(ctx, tr, target) }
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
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			fmt.Printf("flooder: stalled %d reconnects %d\n", stalled.Load(), reconnects.Load())
		case <-ctx.Done():
		}
	}
	wg.Wait()
}

// legitDials dials target every 25 ms, 200 times, and returns the time of
// each successful Dial, of its connect (TCP, and for ws the upgrade) and
// of its handshake, and the failures.
func legitDials(target string) (lat, conn, shake []time.Duration, fails []string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for range 200 {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var cd, hd time.Duration
			tr := &ms.Trace{
				ConnectDone:   func(i ms.ConnectInfo) { cd = i.Duration },
				HandshakeDone: func(i ms.HandshakeInfo) { hd = i.Duration },
			}
			t0 := time.Now()
			c, err := (&ms.Dialer{Config: ms.Config{Trace: tr}}).DialContext(ctx, target)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err.Error())
				return
			}
			c.Close()
			lat = append(lat, d)
			conn = append(conn, cd)
			shake = append(shake, hd)
		}()
	}
	wg.Wait()
	return lat, conn, shake, fails
}

// legitDialsChild runs legitDials in a child process (TestSoakClient), a
// client host of its own: its goroutines do not queue behind the
// server's in one scheduler.
func legitDialsChild(t *testing.T, target string) (lat, conn, shake []time.Duration, fails []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSoakClient$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), "MS_SOAK_CLIENT_TARGET="+target)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client process: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var a, b, c int64
		if n, _ := fmt.Sscanf(line, "client: ok %d %d %d", &a, &b, &c); n == 3 {
			lat = append(lat, time.Duration(a))
			conn = append(conn, time.Duration(b))
			shake = append(shake, time.Duration(c))
		} else if e, ok := strings.CutPrefix(line, "client: failed "); ok {
			fails = append(fails, e)
		}
	}
	if len(lat)+len(fails) != 200 {
		t.Fatalf("client process reported %d dials, want 200:\n%s", len(lat)+len(fails), out)
	}
	return lat, conn, shake, fails
}

// TestSoakClient is the child process of TestSoakStalledHandshakes that
// runs the legitimate client's dials and prints one line per dial.
func TestSoakClient(t *testing.T) {
	target := os.Getenv("MS_SOAK_CLIENT_TARGET")
	if target == "" {
		t.Skip("the child process of TestSoakStalledHandshakes")
	}
	lat, conn, shake, fails := legitDials(target)
	for i := range lat {
		fmt.Printf("client: ok %d %d %d\n", lat[i], conn[i], shake[i])
	}
	for _, e := range fails {
		fmt.Printf("client: failed %s\n", strings.ReplaceAll(e, "\n", " "))
	}
}
