package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// TestTunnel carries HTTP from a Go client through dial --local and
// listen --forward to an httptest server, like ssh -L.
func TestTunnel(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		io.Copy(w, r.Body) // echo the body
	}))
	defer backend.Close()
	srvSecret, _ := secretFile(t, 1)
	cliSecret, cliPub := secretFile(t, 2)

	ln := start(t, nil, "listen", "--secret", srvSecret, "--allow", shs.FormatID(cliPub),
		"--forward", backend.Listener.Addr().String(), "net:127.0.0.1:0~shs;ws://127.0.0.1:0~shs")
	addr := ln.firstLine()
	// The tunnel dials the net~shs alternative alone: given both, the
	// Dialer starts the ws~shs one too when net~shs has not finished its
	// handshake within the fallback delay (250 ms, which load can take),
	// and the loser's handshake may complete at the listener, which then
	// logs a conn more than the 3 counted below.
	netAddr, _, _ := strings.Cut(addr, ";")
	if !strings.HasPrefix(netAddr, "net:") {
		t.Fatalf("listen printed %q; want the net~shs alternative first", addr)
	}
	tun := start(t, nil, "dial", "--secret", cliSecret, "--local", "127.0.0.1:0", netAddr)
	local := tun.firstLine()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	body := make([]byte, 256<<10)
	rand.Read(body)
	var wg sync.WaitGroup
	errs := make(chan string, 3)
	for i := range 3 { // concurrent tunnels
		wg.Go(func() {
			path := "/req" + string(rune('a'+i))
			resp, err := client.Post("http://"+local+path, "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Path") != path || !bytes.Equal(got, body) {
				errs <- "request " + path + " through the tunnel came back wrong"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	if code := tun.signal(syscall.SIGTERM); code != 0 {
		t.Errorf("dial --local after SIGTERM: exit %d; stderr:\n%s", code, tun.stderr.String())
	}
	if code := ln.interrupt(); code != 0 {
		t.Errorf("listen --forward after SIGINT: exit %d; stderr:\n%s", code, ln.stderr.String())
	}
	if log := ln.stderr.String(); strings.Contains(log, "warning") || strings.Count(log, "key "+shs.FormatID(cliPub)) != 3 {
		t.Errorf("listen stderr should log 3 conns from the client key and no warning:\n%s", log)
	}
	if log := tun.stderr.String(); strings.Count(log, "tunnel over net~shs") != 3 {
		t.Errorf("dial --local stderr should log 3 tunnels over net~shs:\n%s", log)
	}
}

// TestForwardFailures checks the warning for --forward without --allow,
// and that a service that refuses is logged and the client let go.
func TestForwardFailures(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	ln := start(t, nil, "listen", "--forward", closedPort(t), "net:127.0.0.1:0~shs")
	addr := ln.firstLine()
	d := start(t, strings.NewReader("x"), "dial", addr)
	if code := d.wait(); d.stdout() != "" {
		t.Errorf("dial to a forward that fails: exit %d, stdout %q", code, d.stdout())
	}
	ln.interrupt()
	log := ln.stderr.String()
	for _, want := range []string{"warning: --forward without --allow", "conn 1: forward: dial tcp", "connection refused"} {
		if !strings.Contains(log, want) {
			t.Errorf("listen stderr lacks %q:\n%s", want, log)
		}
	}
}
