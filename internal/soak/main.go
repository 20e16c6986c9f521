// Command soak measures multiserver shs next to crypto/tls (TLS 1.3) at
// scale, on loopback:
//
//	go run ./internal/soak -mode idle -n 10000
//	go run ./internal/soak -mode flood -clients 64 -duration 10s
//
// idle: a server process accepts n conns from a client process; every conn
// echoes 1 KiB once, then all n sit idle. It reports, per process, the Go
// heap per idle established conn, the RSS at n conns, and the allocations
// per Read and per Write in a second echo round over all conns (steady
// state). Server and client run in separate processes so that each side's
// heap is its own and each stays within RLIMIT_NOFILE.
//
// flood: the client process runs -clients goroutines that handshake as
// fast as they can for -duration (dial, handshake, read one byte, close)
// while this process dials as a legitimate client every 50ms and times
// Dial until the server's first byte. It reports accepted handshakes per
// second at the server and the legitimate client's latencies. Client and
// server share the machine's cores.
//
// -proto chooses shs (ms.Listen "net:127.0.0.1:0~shs" and ms.Dialer),
// tls (tls.Listen, TLS 1.3, ed25519 certificate, no session tickets, the
// client verifying the chain) or both, one after the other in fresh
// processes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// roleEnv names the role of a child process; children get their flags in
// argsEnv, so the parent binary can be the command or a test binary.
const (
	roleEnv = "MS_SOAK_ROLE"
	argsEnv = "MS_SOAK_ARGS"
)

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(child(role, strings.Fields(os.Getenv(argsEnv))))
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// options are the parent's flags.
type options struct {
	mode     string
	protos   []string
	n        int
	conc     int
	clients  int
	duration time.Duration
	pprof    string

	results *[]idleResult  // if not nil, runIdle appends its figures (for the benchmark)
	floods  *[]floodResult // the same for runFlood
}

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	o := &options{}
	proto := fs.String("proto", "shs,tls", "comma-separated: shs, tls")
	fs.StringVar(&o.mode, "mode", "idle", "idle or flood")
	fs.IntVar(&o.n, "n", 10000, "idle: conns to hold")
	fs.IntVar(&o.conc, "conc", 64, "idle: dials in flight while connecting")
	fs.IntVar(&o.clients, "clients", 64, "flood: concurrent handshaking clients")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "flood: how long")
	fs.StringVar(&o.pprof, "pprof", "", "idle: write heap profiles of both processes at n idle conns into this directory")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, p := range strings.Split(*proto, ",") {
		if p != "shs" && p != "tls" {
			return nil, fmt.Errorf("unknown -proto %q (shs, tls)", p)
		}
		o.protos = append(o.protos, p)
	}
	if o.mode != "idle" && o.mode != "flood" {
		return nil, fmt.Errorf("unknown -mode %q (idle, flood)", o.mode)
	}
	if o.n < 1 || o.conc < 1 || o.clients < 1 || o.duration <= 0 {
		return nil, fmt.Errorf("-n, -conc, -clients and -duration must be positive")
	}
	return o, nil
}

func run(args []string, out io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "soak -mode %s: %s\n", o.mode, machine())
	for _, p := range o.protos {
		var err error
		if o.mode == "idle" {
			err = runIdle(o, p, out)
		} else {
			err = runFlood(o, p, out)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// proc is a child process driven over its stdin and stdout, one line per
// command and per answer.
type proc struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

func start(role string, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"="+role, argsEnv+"="+strings.Join(args, " "))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &proc{name: role, cmd: cmd, in: in, out: sc}, nil
}

// ask sends a command and returns the answer line's fields, which must
// start with want.
func (p *proc) ask(cmd, want string) (map[string]string, error) {
	if cmd != "" {
		if _, err := fmt.Fprintln(p.in, cmd); err != nil {
			return nil, fmt.Errorf("%s: send %q: %w", p.name, cmd, err)
		}
	}
	if !p.out.Scan() {
		err := p.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%s: waiting for %q: %w", p.name, want, err)
	}
	f := strings.Fields(p.out.Text())
	if len(f) == 0 || f[0] != want {
		return nil, fmt.Errorf("%s: got %q, want %q", p.name, p.out.Text(), want)
	}
	m := map[string]string{}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m, nil
}

func (p *proc) stop() error {
	fmt.Fprintln(p.in, "quit")
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		return fmt.Errorf("%s did not quit within 30s; killed", p.name)
	}
}

func num(m map[string]string, k string) float64 {
	v, _ := strconv.ParseFloat(m[k], 64)
	return v
}

func runIdle(o *options, proto string, out io.Writer) error {
	srv, err := start("server", "-proto", proto, "-need", strconv.Itoa(o.n+64))
	if err != nil {
		return err
	}
	defer srv.stop()
	hello, err := srv.ask("", "listening")
	if err != nil {
		return err
	}
	s0, err := srv.ask("stats", "stats")
	if err != nil {
		return err
	}
	cli, err := start("client", "-proto", proto, "-addr", hello["addr"], "-cert", hello["cert"], "-need", strconv.Itoa(o.n+64))
	if err != nil {
		return err
	}
	defer cli.stop()
	c0, err := cli.ask("stats", "stats")
	if err != nil {
		return err
	}
	d, err := cli.ask(fmt.Sprintf("dial %d %d", o.n, o.conc), "dialed")
	if err != nil {
		return err
	}
	if num(d, "fail") != 0 {
		return fmt.Errorf("%s of %d dials failed (first error in the client's stderr)", d["fail"], o.n)
	}
	// stats takes one snapshot of both processes.
	stats := func() (s, c map[string]string, err error) {
		if s, err = srv.ask("stats", "stats"); err != nil {
			return nil, nil, err
		}
		c, err = cli.ask("stats", "stats")
		return s, c, err
	}
	s1, c1, err := stats()
	if err != nil {
		return err
	}
	// Round 1 warms pools and lazily made state; round 2 is measured.
	if _, err := cli.ask("echo", "echoed"); err != nil {
		return err
	}
	s2, c2, err := stats()
	if err != nil {
		return err
	}
	if _, err := cli.ask("echo", "echoed"); err != nil {
		return err
	}
	s3, c3, err := stats()
	if err != nil {
		return err
	}
	if o.pprof != "" {
		for _, p := range []*proc{srv, cli} {
			path := filepath.Join(o.pprof, fmt.Sprintf("heap-%s-%s.pprof", proto, p.name))
			if _, err := p.ask("heapprofile "+path, "profiled"); err != nil {
				return err
			}
			fmt.Fprintf(out, "heap profile: %s\n", path)
		}
	}
	n := float64(o.n)
	perConn := func(a, b map[string]string, k string) float64 { return (num(b, k) - num(a, k)) / n }
	perOp := func(a, b map[string]string) float64 {
		ops := num(b, "reads") + num(b, "writes") - num(a, "reads") - num(a, "writes")
		return (num(b, "mallocs") - num(a, "mallocs")) / ops
	}
	side := func(base, conn, e2, e3 map[string]string) sideResult {
		return sideResult{
			HeapPerConn:          perConn(base, conn, "heap"),
			HeapPerConnAfterEcho: perConn(base, e3, "heap"),
			StackPerConn:         perConn(base, e3, "stack"),
			RSS:                  num(e3, "rss"),
			RSSPerConn:           perConn(base, e3, "rss"),
			AllocsPerOp:          perOp(e2, e3),
		}
	}
	r := idleResult{Proto: proto, N: o.n, ConnectSecs: num(d, "secs"), Server: side(s0, s1, s2, s3), Client: side(c0, c1, c2, c3)}
	if o.results != nil {
		*o.results = append(*o.results, r)
	}
	fmt.Fprintf(out, "\n%s: %d idle conns (connected in %.2fs)\n", proto, o.n, r.ConnectSecs)
	fmt.Fprintf(out, "  %-6s %12s %12s %12s %14s %12s %12s\n", "side", "heap B/conn", "heap after", "stack B/conn", "RSS MiB at n", "RSS B/conn", "allocs/op")
	fmt.Fprintf(out, "  %-6s %12s %12s %12s %14s %12s %12s\n", "", "(connected)", "echo B/conn", "", "(after echo)", "", "(round 2)")
	for _, x := range []struct {
		side string
		r    sideResult
		note string
	}{
		{"server", r.Server, "incl. the echo handler's goroutine and 1 KiB read buffer"},
		{"client", r.Client, "conns only: no goroutine or buffer per conn"},
	} {
		fmt.Fprintf(out, "  %-6s %12.0f %12.0f %12.0f %14.1f %12.0f %12.2f   %s\n", x.side,
			x.r.HeapPerConn, x.r.HeapPerConnAfterEcho, x.r.StackPerConn, x.r.RSS/(1<<20), x.r.RSSPerConn, x.r.AllocsPerOp, x.note)
	}
	return nil
}

// idleResult is what runIdle measured for one protocol.
type idleResult struct {
	Proto          string
	N              int
	ConnectSecs    float64
	Server, Client sideResult
}

// sideResult is one process's figures: bytes per conn are deltas from
// the process before any conn, divided by the number of conns.
type sideResult struct {
	HeapPerConn          float64 // Go heap (HeapAlloc) once connected
	HeapPerConnAfterEcho float64 // the same after two echo rounds
	StackPerConn         float64 // goroutine stacks (StackInuse)
	RSS                  float64 // resident set size at n conns, bytes
	RSSPerConn           float64
	AllocsPerOp          float64 // heap allocations per Read or Write in echo round 2
}

func runFlood(o *options, proto string, out io.Writer) error {
	srv, err := start("server", "-proto", proto, "-need", strconv.Itoa(4*o.clients+1024))
	if err != nil {
		return err
	}
	defer srv.stop()
	hello, err := srv.ask("", "listening")
	if err != nil {
		return err
	}
	cli, err := start("client", "-proto", proto, "-addr", hello["addr"], "-cert", hello["cert"], "-need", strconv.Itoa(4*o.clients+1024))
	if err != nil {
		return err
	}
	defer cli.stop()
	legit, err := newClient(proto, hello["addr"], hello["cert"])
	if err != nil {
		return err
	}
	// Reference: the legitimate client on an idle server.
	var idle []time.Duration
	for range 20 {
		d, err := legit.handshake()
		if err != nil {
			return fmt.Errorf("legitimate client on an idle server: %w", err)
		}
		idle = append(idle, d)
	}
	s0, err := srv.ask("stats", "stats")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(cli.in, "flood %d %s\n", o.clients, o.duration); err != nil {
		return err
	}
	var lat []time.Duration
	var legitFail int
	var firstErr error
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	for time.Since(start) < o.duration {
		<-tick.C
		d, err := legit.handshake()
		if err != nil {
			legitFail++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		lat = append(lat, d)
	}
	tick.Stop()
	f, err := cli.ask("", "flooded")
	if err != nil {
		return err
	}
	s1, err := srv.ask("stats", "stats")
	if err != nil {
		return err
	}
	secs := num(f, "secs")
	accepted := num(s1, "accepted") - num(s0, "accepted")
	fmt.Fprintf(out, "\n%s flood: %d clients for %v\n", proto, o.clients, o.duration)
	fmt.Fprintf(out, "  server accepted %.0f handshakes in %.2fs: %.0f/s (flood clients: %s ok, %s failed)\n",
		accepted, secs, accepted/secs, f["ok"], f["fail"])
	fmt.Fprintf(out, "  legitimate client, Dial to first server byte: idle p50 %v; under flood p50 %v p99 %v max %v over %d tries, %d failed\n",
		pct(idle, 50), pct(lat, 50), pct(lat, 99), pct(lat, 100), len(lat)+legitFail, legitFail)
	if firstErr != nil {
		fmt.Fprintf(out, "  first legitimate failure: %v\n", firstErr)
	}
	if o.floods != nil {
		*o.floods = append(*o.floods, floodResult{
			Proto: proto, AcceptedPerSec: accepted / secs,
			LegitIdleP50: pct(idle, 50), LegitP50: pct(lat, 50), LegitP99: pct(lat, 99), LegitMax: pct(lat, 100),
			LegitFailed: legitFail,
		})
	}
	return nil
}

// floodResult is what runFlood measured for one protocol.
type floodResult struct {
	Proto          string
	AcceptedPerSec float64
	LegitIdleP50   time.Duration // the legitimate client on the idle server
	LegitP50       time.Duration // ... and under the flood
	LegitP99       time.Duration
	LegitMax       time.Duration
	LegitFailed    int
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond)
}

var machineOnce = sync.OnceValue(func() string {
	return describeMachine()
})

func machine() string { return machineOnce() }
