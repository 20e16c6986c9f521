package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// TestProbe probes one address whose alternatives fail in every way ms
// probe -h lists, plus one that works: one line each, in order, with the
// right class, and exit 0 because one works; exit 1 when none does.
func TestProbe(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	srvSecret, srvPub := secretFile(t, 1)
	okSecret, okPub := secretFile(t, 2)
	otherSecret, _ := secretFile(t, 3)
	_, strangerPub := secretFile(t, 4)
	ln := start(t, nil, "listen", "--secret", srvSecret, "--allow", shs.EncodeKey(okPub), "--echo", "net:127.0.0.1:0~shs")
	good := ln.firstLine()
	key := "~shs:" + shs.EncodeKey(srvPub)
	hostPort := strings.TrimPrefix(strings.Split(good, "~")[0], "net:")
	// A TCP server that hangs up at once: not shs.
	hangup, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangup.Close()
	go func() {
		for {
			c, err := hangup.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	webHost := strings.TrimPrefix(web.URL, "http://")
	alts := []struct{ addr, want string }{
		{good, "ok  key " + shs.FormatID(srvPub)},
		{"net:" + closedPort(t) + key, "FAIL refused"},
		{"net:" + silentServer(t) + key, "FAIL timeout"},
		{"net:" + hangup.Addr().String() + key, "FAIL not-shs/app-key"},
		{"net:" + hostPort + "~shs:" + shs.EncodeKey(strangerPub), "FAIL server-key/denied"},
		{"ws://" + webHost + key, "FAIL tls/http"},
		{"carrier:pigeon" + key, "FAIL unsupported"},
	}
	var all []string
	for _, a := range alts {
		all = append(all, a.addr)
	}
	code, stdout, stderr := runMS(t, nil, "probe", "--secret", okSecret, "--timeout", "1s", strings.Join(all, ";"))
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != len(alts) {
		t.Fatalf("exit %d, %d lines; want 0 and %d lines\nstdout:\n%s\nstderr:\n%s", code, len(lines), len(alts), stdout, stderr)
	}
	for i, a := range alts {
		if !strings.HasPrefix(lines[i], a.addr+"  connect ") || !strings.Contains(lines[i], "  "+a.want) {
			t.Errorf("line %d: %q; want %s then %q", i+1, lines[i], a.addr, a.want)
		}
	}
	// A client the server does not admit: nothing works, exit 1.
	code, stdout, stderr = runMS(t, nil, "probe", "--secret", otherSecret, good)
	if code != 1 || !strings.Contains(stdout, "FAIL server-key/denied") || !strings.Contains(stderr, "no alternative of 1 works") {
		t.Errorf("not admitted: exit %d, stdout %q, stderr %q; want 1 and server-key/denied", code, stdout, stderr)
	}
	appKey := shs.EncodeKey(bytes.Repeat([]byte{5}, 32))
	if _, stdout, _ := runMS(t, nil, "probe", "--secret", okSecret, "--app-key", appKey, good); !strings.Contains(stdout, "FAIL not-shs/app-key") {
		t.Errorf("wrong app key: stdout %q", stdout)
	}
	if code, _, _ := runMS(t, nil, "probe", "net:127.0.0.1:1~"); code != 2 {
		t.Errorf("bad address: exit %d, want 2", code)
	}
	ln.interrupt()
}
