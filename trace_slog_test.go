package multiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// lockedBuffer is a bytes.Buffer safe for the listener's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestLogTrace: a failed handshake is logged at WARN with its reason, a
// good conn's close at DEBUG with the bytes moved; no key material.
func TestLogTrace(t *testing.T) {
	var out lockedBuffer
	tr := ms.LogTrace(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	logged := make(chan struct{}, 8)
	closed, failed := tr.Closed, tr.HandshakeDone
	tr.Closed = func(i ms.CloseInfo) { closed(i); logged <- struct{}{} }
	tr.HandshakeDone = func(i ms.HandshakeInfo) {
		failed(i)
		if i.Err != nil {
			logged <- struct{}{}
		}
	}
	ln := listen(t, &ms.ListenConfig{Config: ms.Config{Trace: tr}}, "net:127.0.0.1:0~shs")
	echo(t, ln)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ms.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, 100)
	c.Close()
	recv(t, logged, "server close")
	(&ms.Dialer{Config: ms.Config{AppKey: make([]byte, 32)}}).DialContext(ctx, ln.Addr().String())
	recv(t, logged, "failed handshake")

	var sawClose, sawFail bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		switch rec["msg"] {
		case "multiserver: conn closed":
			sawClose = rec["level"] == "DEBUG" && rec["read"] == 100.0 && rec["written"] == 100.0 && rec["side"] == "accept"
		case "multiserver: handshake failed":
			sawFail = rec["level"] == "WARN" && rec["reason"] == ms.ReasonNetworkKey && rec["stack"] == "net~shs"
		}
	}
	if !sawClose || !sawFail {
		t.Errorf("log lacks the close (%v) or the failure (%v):\n%s", sawClose, sawFail, out.String())
	}
}
