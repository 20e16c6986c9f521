package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestPlainDialToShsListener: a conn without shs to an shs listener is
// refused by closing it, which the protocol cannot tell from an empty
// answer. ms dial must not exit 0 with nothing: it exits 3 with a hint.
func TestPlainDialToShsListener(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	secret, _ := secretFile(t, 1)
	ln := start(t, nil, "listen", "--secret", secret, "--echo", "net:127.0.0.1:0~shs")
	addr := ln.firstLine()
	plain := strings.Split(addr, "~")[0]
	for _, a := range []string{plain, plain + "~noauth"} {
		code, stdout, stderr := runMS(t, strings.NewReader("hi\n"), "dial", a)
		if code != exitUnconfirmed || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "without sending anything") || !strings.Contains(stderr, "~shs:KEY") {
			t.Errorf("dial %s: exit %d, stdout %q, stderr %q; want %d, nothing and one line with the ~shs:KEY hint", a, code, stdout, stderr, exitUnconfirmed)
		}
	}
	ln.interrupt()
}

// TestForwardTargetDown: when the --forward service is down the server
// aborts the client's conn; the client, direct or through a tunnel (ms
// dial --local), must exit 1 and say what probably happened, for a short
// message and for one larger than the socket buffers.
func TestForwardTargetDown(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	ln := start(t, nil, "listen", "--forward", closedPort(t), "net:127.0.0.1:0~shs")
	addr := ln.firstLine()
	tun := start(t, nil, "dial", "--local", "127.0.0.1:0", addr)
	local := "net:" + tun.firstLine()
	big := bytes.Repeat([]byte("0123456789"), 1<<20)
	for _, tc := range []struct {
		name, addr string
		in         []byte
	}{
		{"direct", addr, []byte("x")},
		{"direct 10MB", addr, big},
		{"tunnel", local, []byte("x")},
		{"tunnel 10MB", local, big},
	} {
		code, stdout, stderr := runMS(t, bytes.NewReader(tc.in), "dial", tc.addr)
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, "--forward: its target is down") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1, nothing, and the likely reasons", tc.name, code, stdout, stderr)
		}
	}
	tun.interrupt()
	ln.interrupt()
	if log := ln.stderr.String(); !strings.Contains(log, "connection refused; conn aborted") {
		t.Errorf("listen stderr does not say the forward failed:\n%s", log)
	}
}

// TestListenSerialMissing: a serial listener on a device that does not
// exist waits for it by design, and says so.
func TestListenSerialMissing(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	if runtime.GOOS == "windows" {
		t.Skip("device paths are /dev paths here")
	}
	p := start(t, nil, "listen", "--secret", must(secretFile(t, 1)), "serial:/dev/ttyNOPE:9600~shs")
	p.firstLine()
	if code := p.interrupt(); code != 0 {
		t.Errorf("exit %d after SIGINT", code)
	}
	if log := p.stderr.String(); !strings.Contains(log, "/dev/ttyNOPE: no such file or directory; waiting for the device to appear") {
		t.Errorf("stderr does not say ms waits for the device:\n%s", log)
	}
}

func must[T, U any](v T, _ U) T { return v }

// TestUnixNoauthOtherUser: a unix~noauth listener refuses a client of
// another user (peer-uid check) by closing the conn; the client must exit
// 1 and be told the likely reason, not just "broken pipe".
func TestUnixNoauthOtherUser(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	if runtime.GOOS != "linux" || os.Getuid() != 0 {
		t.Skip("runs the client as another user: needs root on Linux (abstract sockets have no file permissions)")
	}
	name := fmt.Sprintf("unix:@ms-test-uid-%d~noauth", os.Getpid())
	ln := start(t, nil, "listen", "--echo", name)
	addr := ln.firstLine()
	big := bytes.Repeat([]byte("z"), 4<<20)
	p := startAs(t, 65534, bytes.NewReader(big), "dial", addr)
	code := p.wait()
	stderr := p.stderr.String()
	if code != exitFailure || !strings.Contains(stderr, "unix~noauth: the peer is another user") {
		t.Errorf("exit %d, stderr %q; want 1 and the peer-uid hint", code, stderr)
	}
	ln.interrupt()
	if log := ln.stderr.String(); !strings.Contains(log, "uid 65534") {
		t.Errorf("listen stderr does not name the refused uid:\n%s", log)
	}
}

// TestListenLogsFailedHandshakes: a failed handshake is logged with the
// conn's number and the peer's address, like the other log lines.
func TestListenLogsFailedHandshakes(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	secret, _ := secretFile(t, 1)
	ln := start(t, nil, "listen", "--secret", secret, "--echo", "net:127.0.0.1:0~shs")
	addr := ln.firstLine()
	runMS(t, strings.NewReader("hi\n"), "dial", strings.Split(addr, "~")[0])
	runMS(t, strings.NewReader("hi\n"), "dial", "--secret", secret, addr)
	ln.interrupt()
	log := ln.stderr.String()
	for _, re := range []string{
		`ms listen: conn 1: net~shs from 127\.0\.0\.1:\d+: handshake failed: shs: peer closed the connection before sending its hello`,
		`ms listen: conn 2: net~shs from net:127\.0\.0\.1:\d+, key @`,
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("listen stderr does not match %s:\n%s", re, log)
		}
	}
}

// TestForwardValidatedAtStart: a --forward that cannot be dialled is
// refused before anything listens.
func TestForwardValidatedAtStart(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"127.0.0.1:99999", "127.0.0.1", "127.0.0.1:-1"} {
		code, stdout, stderr := runMS(t, nil, "listen", "--forward", f, "net:127.0.0.1:0~shs")
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "--forward "+f) {
			t.Errorf("--forward %s: exit %d, stdout %q, stderr %q; want 2, nothing, and the flag named", f, code, stdout, stderr)
		}
	}
}
