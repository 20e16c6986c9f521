package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// cancelOn is a writer that cancels when what was written contains s.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	s      string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.s) {
		w.cancel()
	}
	return len(p), nil
}

// TestDemoInterrupted: a demo stopped by a signal says "interrupted", not
// the error of the conn the signal closed.
func TestDemoInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &cancelOn{s: "dials each alternative", cancel: cancel}
	var stderr bytes.Buffer
	code := run(ctx, []string{"demo", "--mib", "1024"}, nil, stdout, &stderr)
	if code != exitFailure || stderr.String() != "ms demo: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 1 and \"ms demo: interrupted\"", code, stderr.String())
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runMS(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "ms ") || !strings.HasSuffix(stdout, " "+runtime.Version()+"\n") || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and one line \"ms VERSION ... %s\"", code, stdout, stderr, runtime.Version())
	}
}

// TestListenWSSNoCertificate: the CLI cannot set Go fields; it says what
// a CLI user can do instead.
func TestListenWSSNoCertificate(t *testing.T) {
	t.Parallel()
	secret, _ := secretFile(t, 1)
	code, stdout, stderr := runMS(t, nil, "listen", "--secret", secret, "wss://127.0.0.1:0~shs")
	if code != exitUsage || stdout != "" || strings.Contains(stderr, "Options.TLSConfig, or CertFile") || !strings.Contains(stderr, "TLS-terminating proxy") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and a way out for a CLI user", code, stdout, stderr)
	}
}
