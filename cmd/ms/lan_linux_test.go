package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// freeUDPPort returns a UDP port nobody else uses until the test ends.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	// The socket stays open, with SO_REUSEADDR and SO_REUSEPORT, until the
	// test ends: the port is then not handed out to anyone else (another
	// test process picking a free port), while the test's own sockets can
	// still bind it.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if err == nil {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return err
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

// TestLANAnnounceWatch: ms lan watch finds ms lan announce over loopback
// broadcast (Linux delivers 127.255.255.255 to every socket on the port),
// in each format; the address it prints dials, and an shs echo completes.
func TestLANAnnounceWatch(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	srvSecret, srvPub := secretFile(t, 7)
	cliSecret, _ := secretFile(t, 8)
	ln := start(t, nil, "listen", "--secret", srvSecret, "--echo", "--scope", "device,private", "net:127.0.0.1:0~shs")
	addr := ln.firstLine()
	defer ln.interrupt()
	for _, f := range []string{"ssb-lan", "legacy"} {
		t.Run(f, func(t *testing.T) {
			port, legacyPort := freeUDPPort(t), freeUDPPort(t)
			ports := []string{"--port", port, "--legacy-port", legacyPort, "--formats", f, "--allow-loopback"}
			w := start(t, nil, append([]string{"lan", "watch", "--json", "--count", "1"}, ports...)...)
			a := start(t, nil, append([]string{"lan", "announce", "--secret", srvSecret, "--to", "127.255.255.255", "--interval", "50ms"}, append(ports, addr)...)...)
			line := w.firstLine()
			if code := w.wait(); code != 0 {
				t.Fatalf("lan watch: exit %d, stderr:\n%s", code, w.stderr.String())
			}
			if code := a.interrupt(); code != 0 {
				t.Errorf("lan announce after SIGINT: exit %d, stderr:\n%s", code, a.stderr.String())
			}
			var p struct {
				Address, Key, Format, Source string
				Verified                     bool
			}
			if err := json.Unmarshal([]byte(line), &p); err != nil {
				t.Fatalf("lan watch printed %q: %v", line, err)
			}
			if p.Address != addr || p.Key != shs.FormatID(srvPub) || p.Format != f || p.Verified != (f == "ssb-lan") || p.Source != "127.0.0.1" {
				t.Fatalf("lan watch printed %+v; want %s from %s", p, addr, shs.FormatID(srvPub))
			}
			if !strings.Contains(a.stderr.String(), "announcing "+addr) {
				t.Errorf("lan announce stderr:\n%s", a.stderr.String())
			}
			data := []byte("found on the LAN")
			d := start(t, bytes.NewReader(data), "dial", "--secret", cliSecret, p.Address)
			if code := d.wait(); code != 0 || d.stdout() != string(data) {
				t.Fatalf("dial %s: exit %d, stdout %q, stderr %s", p.Address, code, d.stdout(), d.stderr.String())
			}
		})
	}
}

func TestLANAnnounceRefuses(t *testing.T) {
	t.Parallel()
	secret, pub := secretFile(t, 9)
	_, otherPub := secretFile(t, 10)
	k, other := shs.EncodeKey(pub), shs.EncodeKey(otherPub)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no secret", []string{"net:192.168.1.5:8008~shs:" + k}, "needs the secret"},
		{"device scope only", []string{"--secret", secret, "unix:/tmp/x~shs:" + k + ";net:127.0.0.1:8008~shs:" + k}, "nothing in ADDRESS may be announced"},
		{"another key", []string{"--secret", secret, "net:192.168.1.5:8008~shs:" + other}, "not the signing key"},
		{"bad address", []string{"--secret", secret, "net:192.168.1.5:8008~shs:" + k + ";;"}, "invalid address"},
		{"bad format", []string{"--secret", secret, "--formats", "rss", "net:192.168.1.5:8008~shs:" + k}, "unknown format"},
		{"two addresses", []string{"--secret", secret, "a", "b"}, "exactly one address"},
	} {
		code, _, stderr := runMS(t, nil, append([]string{"lan", "announce"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.name, code, stderr, exitUsage, tt.want)
		}
		if strings.Contains(stderr, string(mustRead(t, secret))) {
			t.Errorf("%s: the secret is on stderr", tt.name)
		}
	}
	if code, _, stderr := runMS(t, nil, "lan"); code != exitUsage || !strings.Contains(stderr, "'ms lan announce' or 'ms lan watch'") {
		t.Errorf("ms lan: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runMS(t, nil, "lan", "watch", "--app-key", "nope"); code != exitUsage || !strings.Contains(stderr, "--app-key") {
		t.Errorf("ms lan watch --app-key nope: exit %d, stderr %q", code, stderr)
	}
}
