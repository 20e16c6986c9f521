package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
)

// TestListenHTTPDirAndOrigin: --http-dir serves files on the ws port and
// prints the page URL with the address in its query; --ws-origin lets the
// listed origin in and refuses others with 403, logged on stderr.
func TestListenHTTPDirAndOrigin(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("the demo page\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srvSecret, _ := secretFile(t, 1)
	ln := start(t, nil, "listen", "--secret", srvSecret, "--echo", "--http-dir", dir, "--ws-origin", "app.example", "ws://127.0.0.1:0~shs")
	addr := ln.firstLine()
	m, err := msaddr.Parse(addr)
	if err != nil {
		t.Fatalf("first line %q: %v", addr, err)
	}
	wsURL := m[0][0].String() // ws://127.0.0.1:PORT
	page := "http" + strings.TrimPrefix(wsURL, "ws")

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer hc.Transport.(*http.Transport).CloseIdleConnections()
	resp, err := hc.Get(page + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "the demo page\n" {
		t.Fatalf("GET %s/: %s %q, want the file", page, resp.Status, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		origin string
		ok     bool
	}{{page, true}, {"https://app.example", true}, {"http://evil.example", false}} {
		wc, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {tc.origin}}})
		if tc.ok {
			if err != nil {
				t.Errorf("origin %s: %v; want it let in", tc.origin, err)
				continue
			}
			wc.CloseNow()
		} else if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			if err == nil {
				wc.CloseNow()
			}
			t.Errorf("origin %s: %v (response %v); want 403", tc.origin, err, resp)
		}
	}
	if code := ln.interrupt(); code != 0 {
		t.Errorf("listen after SIGINT: exit %d; stderr:\n%s", code, ln.stderr.String())
	}
	log := ln.stderr.String()
	wantPage := "ms listen: page: " + page + "/?addr=" + url.QueryEscape(addr) + "\n"
	for _, want := range []string{wantPage, `ws: origin not allowed: page origin "http://evil.example"`} {
		if !strings.Contains(log, want) {
			t.Errorf("listen stderr lacks %q:\n%s", want, log)
		}
	}
}

func TestListenWSUsage(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"http-dir missing", []string{"listen", "--http-dir", filepath.Join(file, "nope"), "ws://127.0.0.1:0~shs"}, 1, "--http-dir: stat "},
		{"http-dir a file", []string{"listen", "--http-dir", file, "ws://127.0.0.1:0~shs"}, 2, "is not a directory"},
		{"http-dir and http-proxy", []string{"listen", "--http-dir", filepath.Dir(file), "--http-proxy", "http://127.0.0.1:1", "ws://127.0.0.1:0~shs"}, 2, "give one"},
		{"http-proxy not a URL", []string{"listen", "--http-proxy", "127.0.0.1:8080", "ws://127.0.0.1:0~shs"}, 2, "want http://HOST:PORT"},
		{"bad ws-origin", []string{"listen", "--ws-origin", "[x", "ws://127.0.0.1:0~shs"}, 2, `ws: bad origin pattern: "[x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMS(t, nil, tt.args...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q", code, stdout, stderr, tt.code, tt.msg)
			}
		})
	}
}

// TestListenSharedPortProxy: ms listen --echo --http-proxy on one port for
// net~shs and ws~shs: both stacks echo 1 MiB each way, and plain HTTP
// reaches the web app behind the proxy, all at once.
func TestListenSharedPortProxy(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "the web app at "+r.URL.Path)
	}), ReadHeaderTimeout: 5 * time.Second}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Serve(tl)
	defer app.Close()

	port := freePort(t)
	srvSecret, _ := secretFile(t, 1)
	ln := start(t, nil, "listen", "--secret", srvSecret, "--echo", "--http-proxy", "http://"+tl.Addr().String(),
		fmt.Sprintf("net:127.0.0.1:%d~shs;ws://127.0.0.1:%d~shs", port, port))
	addr := ln.firstLine()
	m, err := msaddr.Parse(addr)
	if err != nil {
		t.Fatalf("first line %q: %v", addr, err)
	}
	if len(m) != 2 || m[0][0].String() != fmt.Sprintf("net:127.0.0.1:%d", port) || m[1][0].String() != fmt.Sprintf("ws://127.0.0.1:%d", port) {
		t.Fatalf("first line %q: want net and ws alternatives on port %d", addr, port)
	}
	var wg sync.WaitGroup
	for _, a := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := ms.Dial(ctx, a.String())
			if err != nil {
				t.Errorf("dial %s: %v", a, err)
				return
			}
			defer c.Close()
			want := make([]byte, 1<<20)
			rand.Read(want)
			go c.Write(want)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: 1 MiB echo: %v, equal %v", a[0], err, bytes.Equal(got, want))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		defer hc.Transport.(*http.Transport).CloseIdleConnections()
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/x", port))
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "the web app at /x" {
			t.Errorf("GET /x through --http-proxy: %s %q", resp.Status, body)
		}
	}()
	wg.Wait()
	if code := ln.interrupt(); code != 0 {
		t.Errorf("listen after SIGINT: exit %d; stderr:\n%s", code, ln.stderr.String())
	}
}
