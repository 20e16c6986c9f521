package multiserver_test

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/stack"
)

// syncBuffer is a bytes.Buffer for a log.Logger written from the
// listener's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestWSOriginPolicy checks which browser origins may open a WebSocket on
// a listener, by stack and Options.OriginPatterns: any origin on ws~shs
// by default, only the listener's own on ws~noauth and a bare ws, and
// exactly the patterns (plus its own) when they are set. Clients without
// an Origin header (Node, Go) are always let in. A refused upgrade gets
// 403, is logged to ErrorLog, and never reaches Accept.
func TestWSOriginPolicy(t *testing.T) {
	const (
		none      = ""
		same      = "same"                     // the listener's own http://127.0.0.1:PORT
		sameHTTPS = "https-same"               // https://127.0.0.1:PORT: same host and port
		otherPort = "http://127.0.0.1:1"       // another loopback page
		app       = "http://app.example"       // a web site
		appHTTPS  = "https://APP.example"      // the same host, another scheme, upper case
		appSub    = "https://x.app.example"    // a subdomain
		null      = "null"                     // a file: page or a sandboxed frame
		malformed = "http://[::1" + "%zz]:bad" // not a URL
	)
	origins := []string{none, same, sameHTTPS, otherPort, app, appHTTPS, appSub, null, malformed}
	tests := []struct {
		listen   string
		patterns []string
		allowed  []string
	}{
		{"ws://127.0.0.1:0~shs", nil, origins},
		{"ws://127.0.0.1:0~noauth", nil, []string{none, same, sameHTTPS}},
		{"ws://127.0.0.1:0", nil, []string{none, same, sameHTTPS}},
		{"ws://127.0.0.1:0~shs", []string{"app.example"}, []string{none, same, sameHTTPS, app, appHTTPS}},
		{"ws://127.0.0.1:0~shs", []string{"*.app.example", "https://app.example"}, []string{none, same, sameHTTPS, appHTTPS, appSub}},
		{"ws://127.0.0.1:0~noauth", []string{"http://127.0.0.1:*"}, []string{none, same, sameHTTPS, otherPort}},
		{"ws://127.0.0.1:0~noauth", []string{"*"}, []string{none, same, sameHTTPS, otherPort, app, appHTTPS, appSub, null}},
	}
	for _, tt := range tests {
		t.Run(tt.listen+"/"+strings.Join(tt.patterns, ","), func(t *testing.T) {
			var logBuf syncBuffer
			cfg := ms.Config{Transports: []stack.Transport{ws.New(&ws.Options{
				OriginPatterns: tt.patterns,
				ErrorLog:       log.New(&logBuf, "", 0),
			})}}
			ln := listen(t, &ms.ListenConfig{Config: cfg}, tt.listen)
			echo(t, ln)
			wsPart, _, _ := strings.Cut(ln.Addr().String(), "~")
			hostPort := strings.TrimPrefix(wsPart, "ws://")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			refused := 0
			for _, o := range origins {
				h := http.Header{}
				switch o {
				case none:
				case same:
					h.Set("Origin", "http://"+hostPort)
				case sameHTTPS:
					h.Set("Origin", "https://"+hostPort)
				default:
					h.Set("Origin", o)
				}
				want := contains(tt.allowed, o)
				wc, resp, err := websocket.Dial(ctx, wsPart+"/", &websocket.DialOptions{HTTPHeader: h})
				switch {
				case want && err != nil:
					t.Errorf("origin %q: %v; want it let in", h.Get("Origin"), err)
				case !want && err == nil:
					wc.CloseNow()
					t.Errorf("origin %q let in; want 403", h.Get("Origin"))
				case !want && (resp == nil || resp.StatusCode != http.StatusForbidden):
					t.Errorf("origin %q: %v (response %v); want 403", h.Get("Origin"), err, resp)
				case !want:
					refused++
				default:
					wc.CloseNow()
				}
			}
			// Each refusal is one log line that names the origin's
			// error; nothing else is logged.
			if got := strings.Count(logBuf.String(), ws.ErrOrigin.Error()); got != refused {
				t.Errorf("ErrorLog has %d refusals, want %d:\n%s", got, refused, logBuf.String())
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestWSOriginPatternBad: a malformed or empty pattern fails Listen,
// naming it, before anything is bound.
func TestWSOriginPatternBad(t *testing.T) {
	for _, bad := range []string{"[bad", ""} {
		cfg := ms.Config{Transports: []stack.Transport{ws.New(&ws.Options{OriginPatterns: []string{"ok.example", bad}})}}
		lc := &ms.ListenConfig{Config: cfg}
		ln, err := lc.Listen(context.Background(), "ws://127.0.0.1:0~shs")
		if err == nil {
			ln.Close()
			t.Fatalf("Listen with origin pattern %q succeeded", bad)
		}
		if !errors.Is(err, ws.ErrOriginPattern) || !strings.Contains(err.Error(), strconv.Quote(bad)) {
			t.Errorf("Listen with pattern %q: %v; want ErrOriginPattern naming it", bad, err)
		}
	}
}
