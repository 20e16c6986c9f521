package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The soak re-runs its own executable (here, the test binary) as the
	// server and client processes.
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(child(role, strings.Fields(os.Getenv(argsEnv))))
	}
	goleak.VerifyTestMain(m)
}

func TestIdleSmall(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-mode", "idle", "-n", "50", "-conc", "8"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	for _, p := range []string{"shs", "tls"} {
		if !strings.Contains(out.String(), p+": 50 idle conns") {
			t.Errorf("no %s section in the report", p)
		}
	}
	// Every figure is a difference of two process-wide readings and may
	// come out negative on a 50-conn run (a GC or a stack shrink between
	// them: the TLS client's stack column once read -655).
	row := regexp.MustCompile(`(?m)^  (server|client) +-?\d+ +-?\d+ +-?\d+ +-?[\d.]+ +-?\d+ +-?[\d.]+ `)
	if got := len(row.FindAllString(out.String(), -1)); got != 4 {
		t.Errorf("%d measurement rows, want 4 (server and client for shs and tls)", got)
	}
}

func TestFloodSmall(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-mode", "flood", "-clients", "2", "-duration", "300ms"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	acc := regexp.MustCompile(`server accepted (\d+) handshakes`)
	m := acc.FindAllStringSubmatch(out.String(), -1)
	if len(m) != 2 {
		t.Fatalf("want an accepted count for shs and tls in:\n%s", out.String())
	}
	for _, x := range m {
		if x[1] == "0" {
			t.Errorf("a flood accepted no handshakes:\n%s", out.String())
		}
	}
	if strings.Contains(out.String(), "first legitimate failure") {
		t.Errorf("the legitimate client failed under a 2-client flood:\n%s", out.String())
	}
}

func TestBadOptions(t *testing.T) {
	for _, args := range [][]string{{"-proto", "quic"}, {"-mode", "x"}, {"-n", "0"}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// BenchmarkIdleConns runs the idle soak once per iteration and reports its
// figures as benchmark metrics, for benchstat:
//
//	go test -run '^$' -bench IdleConns -benchtime 1x -count 5 ./internal/soak
//
// SOAK_N sets the number of conns (default 10000).
func BenchmarkIdleConns(b *testing.B) {
	n := "10000"
	if v := os.Getenv("SOAK_N"); v != "" {
		n = v
	}
	for _, proto := range []string{"shs", "tls"} {
		b.Run(proto, func(b *testing.B) {
			var res []idleResult
			for b.Loop() {
				o, err := parseOptions([]string{"-mode", "idle", "-n", n})
				if err != nil {
					b.Fatal(err)
				}
				o.results = &res
				if err := runIdle(o, proto, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			r := res[len(res)-1]
			b.ReportMetric(r.Server.HeapPerConn, "server-heap-B/conn")
			b.ReportMetric(r.Client.HeapPerConn, "client-heap-B/conn")
			b.ReportMetric(r.Server.StackPerConn, "server-stack-B/conn")
			b.ReportMetric(r.Server.RSS/(1<<20), "server-RSS-MiB")
			b.ReportMetric(r.Client.RSS/(1<<20), "client-RSS-MiB")
			b.ReportMetric(r.Server.AllocsPerOp, "server-allocs/op")
			b.ReportMetric(r.Client.AllocsPerOp, "client-allocs/op")
			b.ReportMetric(0, "ns/op") // wall time per run says nothing here
		})
	}
}

// BenchmarkFlood runs the handshake flood once per iteration and reports
// accepted handshakes per second and the legitimate client's latencies:
//
//	go test -run '^$' -bench Flood -benchtime 1x -count 5 ./internal/soak
//
// SOAK_CLIENTS (default 64) and SOAK_DURATION (default 10s) set the flood.
func BenchmarkFlood(b *testing.B) {
	clients, dur := "64", "10s"
	if v := os.Getenv("SOAK_CLIENTS"); v != "" {
		clients = v
	}
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		dur = v
	}
	for _, proto := range []string{"shs", "tls"} {
		b.Run(proto, func(b *testing.B) {
			var res []floodResult
			for b.Loop() {
				o, err := parseOptions([]string{"-mode", "flood", "-clients", clients, "-duration", dur})
				if err != nil {
					b.Fatal(err)
				}
				o.floods = &res
				if err := runFlood(o, proto, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			r := res[len(res)-1]
			b.ReportMetric(r.AcceptedPerSec, "accepted-handshakes/s")
			b.ReportMetric(float64(r.LegitIdleP50.Microseconds())/1000, "legit-idle-p50-ms")
			b.ReportMetric(float64(r.LegitP50.Microseconds())/1000, "legit-p50-ms")
			b.ReportMetric(float64(r.LegitP99.Microseconds())/1000, "legit-p99-ms")
			b.ReportMetric(float64(r.LegitMax.Microseconds())/1000, "legit-max-ms")
			b.ReportMetric(float64(r.LegitFailed), "legit-failed")
			b.ReportMetric(0, "ns/op")
		})
	}
}
