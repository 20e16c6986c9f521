package multiserver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/stack"
)

// mountedServer runs an http.Server of "the program's" on loopback with a
// route of its own, /hello, and h mounted at /ssb. It returns the
// server's host:port.
func mountedServer(t *testing.T, h *ws.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from the app") })
	mux.Handle("/ssb", h)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	bl := h.Bound(srv, tl)
	done := make(chan struct{})
	go func() { srv.Serve(bl); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return tl.Addr().String()
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWSHandlerMounted serves ws~shs at /ssb of a program's own
// http.Server while the server keeps answering its other routes: 1 MiB
// echoes each way over two ws~shs conns and GETs of /hello run at once.
func TestWSHandlerMounted(t *testing.T) {
	h := ws.New(nil).Handler()
	hp := mountedServer(t, h)
	lc := ms.ListenConfig{Config: ms.Config{Transports: []stack.Transport{h}}}
	ln, err := lc.Listen(context.Background(), "ws://"+hp+"/ssb~shs")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	if want := "ws://" + hp + "/ssb~shs:"; !strings.HasPrefix(addr, want) {
		t.Fatalf("advertised %q, want it to start with %q", addr, want)
	}
	go echoAccepted(ln)

	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			echoMiB(t, addr)
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := getBody(t, "http://"+hp+"/hello"); code != 200 || body != "hello from the app" {
				t.Errorf("GET /hello: %d %q", code, body)
			}
		}()
	}
	wg.Wait()
	if code, _ := getBody(t, "http://"+hp+"/ssb"); code != http.StatusUpgradeRequired {
		t.Errorf("plain GET /ssb: status %d, want %d", code, http.StatusUpgradeRequired)
	}
}

// echoMiB dials addr, writes 1 MiB of random bytes and compares what
// comes back.
func echoMiB(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ms.Dial(ctx, addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	want := make([]byte, 1<<20)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() { _, err := c.Write(want); werr <- err }()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Errorf("%s: read: %v", addr, err)
		return
	}
	if err := <-werr; err != nil {
		t.Errorf("%s: write: %v", addr, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: echo differs", addr)
	}
}

// TestWSHandlerLimits: a conn upgraded by the mounted handler that never
// starts its shs handshake is closed by the listener's HandshakeTimeout
// and reported to OnError, as on the listener's own port.
func TestWSHandlerLimits(t *testing.T) {
	h := ws.New(nil).Handler()
	hp := mountedServer(t, h)
	errs := make(chan error, 4)
	lc := ms.ListenConfig{HandshakeTimeout: 200 * time.Millisecond, OnError: func(err error) { errs <- err }}
	lc.Config.Transports = []stack.Transport{h}
	ln, err := lc.Listen(context.Background(), "ws://"+hp+"/ssb~shs")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, _ := msaddr.ParseSection("ws://" + hp + "/ssb")
	c, err := dialSection(context.Background(), ws.New(nil), s)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a backstop, far beyond the timeout
	if n, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent upgraded conn: read %d, %v; want it closed by the handshake timeout", n, err)
	}
	if err := <-errs; !errors.Is(err, ms.ErrHandshake) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("OnError got %v, want a handshake timeout", err)
	}
}

// TestWSHandlerListen: a Handler feeds one listener at a time; without
// one, upgrades get 503; its section needs a host.
func TestWSHandlerListen(t *testing.T) {
	h := ws.New(nil).Handler()
	hp := mountedServer(t, h)
	s, _ := msaddr.ParseSection("ws://" + hp + "/ssb")
	if _, err := dialSection(context.Background(), ws.New(nil), s); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("upgrade with no listener: %v, want a 503", err)
	}
	lc := ms.ListenConfig{Config: ms.Config{Transports: []stack.Transport{h}}}
	ln, err := lc.Listen(context.Background(), "ws://"+hp+"/ssb~shs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Listen(context.Background(), "ws://"+hp+"/ssb~shs"); !errors.Is(err, ws.ErrHandlerInUse) {
		t.Errorf("second Listen: %v, want ErrHandlerInUse", err)
	}
	ln.Close()
	ln, err = lc.Listen(context.Background(), "ws://"+hp+"/ssb~shs")
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	ln.Close()
	if _, err := lc.Listen(context.Background(), "ws://:0/ssb~shs"); !errors.Is(err, stack.ErrAddress) {
		t.Errorf("Listen without a host: %v, want ErrAddress", err)
	}
}
