package msexpvar_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/msexpvar"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		panic("unreachable")
	}
}

// TestDebugVars drives known traffic through a listener and checks what
// /debug/vars shows: 3 conns that echo 1000+2000+3000 bytes, 1 client of
// another network, 1 conn refused by the accept policy, and 1 silent conn
// still in its handshake.
func TestDebugVars(t *testing.T) {
	m := msexpvar.New()
	expvar.Publish("multiserver_test", m)

	// The test waits on the same events the metrics count.
	tr := m.Trace()
	done := make(chan ms.HandshakeInfo, 16)
	started := make(chan struct{}, 16)
	closed := make(chan ms.CloseInfo, 16)
	hsStart, hsDone, onClose := tr.HandshakeStart, tr.HandshakeDone, tr.Closed
	tr.HandshakeStart = func(i ms.HandshakeInfo) { hsStart(i); started <- struct{}{} }
	tr.HandshakeDone = func(i ms.HandshakeInfo) { hsDone(i); done <- i }
	tr.Closed = func(i ms.CloseInfo) { onClose(i); closed <- i }

	var n atomic.Int64
	lc := &ms.ListenConfig{
		Config: ms.Config{Trace: tr},
		Policy: func(ms.Source) error {
			if n.Add(1) == 5 {
				return errors.New("the fifth conn is refused")
			}
			return nil
		},
	}
	ln, err := lc.Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	for _, size := range []int{1000, 2000, 3000} {
		c, err := ms.Dial(ctx, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, size)
		go c.Write(msg)
		if _, err := io.ReadFull(c, msg); err != nil {
			t.Fatal(err)
		}
		c.Close()
		wait(t, done, "handshake")
		wait(t, closed, "server close")
	}
	// Another network: fails with network-key on the server.
	d := &ms.Dialer{Config: ms.Config{AppKey: make([]byte, 32)}}
	if _, err := d.DialContext(ctx, ln.Addr().String()); err == nil {
		t.Fatal("dial with another app key worked")
	}
	if i := wait(t, done, "failed handshake"); i.Reason != ms.ReasonNetworkKey {
		t.Fatalf("reason %q, want network-key", i.Reason)
	}
	// The fifth conn is refused by the policy; the sixth stays silent.
	hp := hostPort(t, ln)
	refusedConn, err := net.Dial("tcp", hp)
	if err != nil {
		t.Fatal(err)
	}
	defer refusedConn.Close()
	refusedConn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := refusedConn.Read(make([]byte, 1)); err == nil {
		t.Fatal("refused conn got a byte")
	}
	for range 4 { // the starts of the handshakes above
		wait(t, started, "handshake start")
	}
	silent, err := net.Dial("tcp", hp)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	wait(t, started, "silent handshake start")

	srv := httptest.NewServer(expvar.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var vars map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Accept struct {
			Accepted     int64              `json:"accepted"`
			Rejected     map[string]int64   `json:"rejected"`
			Handshakes   int64              `json:"handshakes"`
			InFlight     int64              `json:"in_flight"`
			OK           int64              `json:"ok"`
			Failed       map[string]int64   `json:"failed"`
			Open         int64              `json:"open"`
			BytesRead    int64              `json:"bytes_read"`
			BytesWritten int64              `json:"bytes_written"`
			HS           map[string]float64 `json:"handshake_seconds"`
		} `json:"accept"`
	}
	if err := json.Unmarshal(vars["multiserver_test"], &got); err != nil {
		t.Fatalf("%v in %s", err, vars["multiserver_test"])
	}
	a := got.Accept
	checks := []struct {
		name      string
		got, want int64
	}{
		{"accepted", a.Accepted, 6},
		{"rejected refused", a.Rejected[ms.ReasonRefused], 1},
		{"handshakes", a.Handshakes, 5},
		{"in_flight", a.InFlight, 1},
		{"ok", a.OK, 3},
		{"failed network-key", a.Failed[ms.ReasonNetworkKey], 1},
		{"failed (all reasons)", sum(a.Failed), 1},
		{"open", a.Open, 0},
		{"bytes_read", a.BytesRead, 6000},
		{"bytes_written", a.BytesWritten, 6000},
		{"handshake_seconds count", int64(a.HS["count"]), 3},
		{"handshake_seconds +Inf", int64(a.HS["+Inf"]), 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if t.Failed() {
		t.Logf("/debug/vars multiserver_test: %s", vars["multiserver_test"])
	}
}

func sum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

func hostPort(t *testing.T, ln *ms.Listener) string {
	a := ln.Addr().(*ms.Addr).Multi()[0]
	h, p, err := msaddr.HostPort(a[0])
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(h, fmt.Sprint(p))
}

func TestHistogram(t *testing.T) {
	m := msexpvar.New()
	h := &m.DialSeconds
	for _, d := range []time.Duration{500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, time.Minute} {
		h.Observe(d)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(h.String()), &got); err != nil {
		t.Fatalf("%v in %s", err, h.String())
	}
	for k, want := range map[string]float64{"0.001": 2, "0.0025": 2, "0.005": 3, "10": 3, "+Inf": 4, "count": 4} {
		if got[k] != want {
			t.Errorf("bucket %s = %v, want %v (%s)", k, got[k], want, h.String())
		}
	}
	if s := got["sum"]; s < 60.004 || s > 60.0046 {
		t.Errorf("sum = %v, want 60.0045", s)
	}
	if !json.Valid([]byte(m.String())) || !strings.Contains(m.String(), `"dial_seconds"`) {
		t.Errorf("Metrics.String() = %s", m.String())
	}
}
