package msprom_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"

	ms "github.com/go-multiserver/multiserver"
	msprom "github.com/go-multiserver/multiserver/examples/prometheus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMetrics drives known traffic through a listener and checks the
// scraped metrics: 2 conns echoing 1000 and 3000 bytes, one client of
// another network, one conn refused by the accept policy.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := msprom.New(reg).Trace()
	done := make(chan struct{}, 16)
	hsDone, onClose, onAccept := tr.HandshakeDone, tr.Closed, tr.Accept
	tr.HandshakeDone = func(i ms.HandshakeInfo) { hsDone(i); done <- struct{}{} }
	tr.Closed = func(i ms.CloseInfo) { onClose(i); done <- struct{}{} }
	tr.Accept = func(i ms.AcceptInfo) { onAccept(i); done <- struct{}{} }
	wait := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("trace events missing after 10s")
			}
		}
	}
	var n atomic.Int64
	lc := &ms.ListenConfig{Config: ms.Config{Trace: tr}, Policy: func(ms.Source) error {
		if n.Add(1) == 4 {
			return errors.New("no")
		}
		return nil
	}}
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, size := range []int{1000, 3000} {
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
		wait(3) // accept, handshake done, server close
	}
	d := &ms.Dialer{Config: ms.Config{AppKey: make([]byte, 32)}}
	if _, err := d.DialContext(ctx, ln.Addr().String()); err == nil {
		t.Fatal("dial with another app key worked")
	}
	wait(2)
	a := ln.Addr().(*ms.Addr).Multi()[0][0].Args
	c, err := net.Dial("tcp", net.JoinHostPort(a[0], a[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wait(1)

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`multiserver_accepted_total 4`,
		`multiserver_rejected_total{reason="refused"} 1`,
		`multiserver_handshakes_total{side="accept"} 3`,
		`multiserver_handshakes_in_flight{side="accept"} 0`,
		`multiserver_handshakes_ok_total{side="accept"} 2`,
		`multiserver_handshakes_failed_total{reason="network-key",side="accept"} 1`,
		`multiserver_conns_open{side="accept"} 0`,
		`multiserver_bytes_read_total{side="accept"} 4000`,
		`multiserver_bytes_written_total{side="accept"} 4000`,
		`multiserver_handshake_seconds_count{side="accept"} 2`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
