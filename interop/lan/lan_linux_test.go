package laninterop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/lan"
	"github.com/go-multiserver/multiserver/msaddr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireJS skips the test when node or node_modules is missing, unless
// MS_INTEROP_REQUIRED=1, in which case the test fails: CI sets it so
// that a broken setup cannot pass as a skip.
func requireJS(t testing.TB) {
	t.Helper()
	err := func() error {
		if _, err := exec.LookPath("node"); err != nil {
			return fmt.Errorf("node is not installed: %w", err)
		}
		for _, p := range []string{"ssb-lan", "ssb-keys", "multiserver"} {
			if _, err := os.Stat(filepath.Join("node_modules", p, "package.json")); err != nil {
				return fmt.Errorf("interop/lan/node_modules has no %s (npm ci not run): %w", p, err)
			}
		}
		out, err := exec.Command("node", "-e", `const v=require("ssb-lan/package.json").version; if (v!=="1.2.3") throw new Error("ssb-lan "+v+", want 1.2.3"); require("./common").loadLAN()`).CombinedOutput()
		if err != nil {
			return fmt.Errorf("node cannot load ssb-lan: %v: %s", err, bytes.TrimSpace(out))
		}
		return nil
	}()
	if err != nil {
		if os.Getenv("MS_INTEROP_REQUIRED") == "1" {
			t.Fatalf("MS_INTEROP_REQUIRED=1 but the JS peer cannot run: %v", err)
		}
		t.Skipf("skipping LAN interop test: %v (run interop/lan/ci.sh, or npm ci in interop/lan, to set up)", err)
	}
}

func keyFromSeed(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(s[:])
}

func freePort(t testing.TB) int {
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
	return c.LocalAddr().(*net.UDPAddr).Port
}

// event is one line peer.js prints.
type event struct {
	Ev       string `json:"ev"`
	Address  string `json:"address"`
	Verified bool   `json:"verified"`
	Format   string `json:"format"`
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
}

// TestJSPeer runs the ssb-lan plugin under Node next to a Go announcer and
// Go watchers on loopback broadcast, and checks, for both formats, that
// each side finds the other and that an shs echo completes over the
// address found, in both directions.
func TestJSPeer(t *testing.T) {
	requireJS(t)
	appKey := sha256.Sum256([]byte("TEST")) // not the main network: the box key matters
	goKey := keyFromSeed("go-lan-peer")
	jsKey := keyFromSeed("js-lan-peer")
	port, legacyPort := freePort(t), freePort(t)

	// The Go peer: an shs echo listener.
	lc := ms.ListenConfig{Config: ms.Config{Identity: goKey, AppKey: appKey[:]}, Scopes: []ms.Scope{ms.Device, ms.Private}}
	ln, err := lc.Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		t.Fatal(err)
	}
	var lnWG sync.WaitGroup
	lnWG.Add(1)
	go func() {
		defer lnWG.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			lnWG.Add(1)
			go func() { defer lnWG.Done(); defer c.Close(); io.Copy(c, c) }()
		}
	}()
	defer func() { ln.Close(); lnWG.Wait() }()

	// The JS peer.
	cmd := exec.Command("node", "peer.js", "--seed", "js-lan-peer", "--appkey", base64.StdEncoding.EncodeToString(appKey[:]),
		"--port", strconv.Itoa(port), "--legacy-port", strconv.Itoa(legacyPort))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	events := make(chan event, 256)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				events <- e
			} else {
				t.Errorf("peer.js printed %q", sc.Text())
			}
		}
	}()
	defer func() {
		stdin.Close()
		cmd.Wait()
		if t.Failed() {
			t.Logf("peer.js stderr:\n%s", stderr.String())
		}
	}()
	deadline := time.After(60 * time.Second)
	next := func(what string) event {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("peer.js ended while waiting for %s; stderr:\n%s", what, stderr.String())
			}
			return e
		case <-deadline:
			t.Fatalf("no %s from peer.js within 60s", what)
		}
		return event{}
	}
	first := next("address")
	jsAddr, err := msaddr.Parse(first.Address)
	if first.Ev != "address" || err != nil {
		t.Fatalf("first event %+v (%v)", first, err)
	}

	// The Go announcer and one Go watcher per format.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	a := &lan.Announcer{AppKey: appKey[:], Interval: 200 * time.Millisecond, Port: port, LegacyPort: legacyPort,
		Destinations: []netip.Addr{netip.MustParseAddr("127.255.255.255")}, AllowLoopback: true}
	goAddr, err := a.ListenerAddress(ln)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Announce(ctx, goAddr, goKey); err != nil {
			t.Errorf("Announce: %v", err)
		}
	}()
	found := make(chan lan.Peer, 16)
	for _, f := range []lan.Format{lan.Signed, lan.Legacy} {
		w := &lan.Watcher{AppKey: appKey[:], Formats: []lan.Format{f}, Port: port, LegacyPort: legacyPort,
			AllowLoopback: true, Self: goKey.Public().(ed25519.PublicKey),
			OnError: func(err error) { t.Errorf("watcher: %v", err) }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Watch(ctx, func(p lan.Peer) { found <- p }); err != nil {
				t.Errorf("Watch: %v", err)
			}
		}()
	}

	// The Go side finds the JS peer in both formats and echoes through it.
	goFound := map[lan.Format]bool{}
	for len(goFound) < 2 {
		select {
		case p := <-found:
			if !p.Key.Equal(jsKey.Public()) || !p.Address.Equal(jsAddr) || p.Verified != (p.Format == lan.Signed) {
				t.Fatalf("Go watcher found %+v; want %s", p, jsAddr)
			}
			if !goFound[p.Format] {
				goFound[p.Format] = true
				echo(t, appKey[:], p.Address.String())
				t.Logf("Go found the JS peer (%s, verified %v) and echoed through %s", p.Format, p.Verified, p.Address)
			}
		case <-deadline:
			t.Fatalf("the Go watchers found the JS peer in %v only, within 60s", goFound)
		}
	}

	// The JS side finds the Go peer in both formats (verified: ssb-lan's
	// signed format; unverified: legacy) and echoes through it.
	jsFound := map[string]bool{}
	echoed := false
	for len(jsFound) < 2 || !echoed {
		e := next("discovery of the Go peer")
		switch e.Ev {
		case "found":
			if e.Address != goAddr.String() || e.Verified != (e.Format == "ssb-lan") {
				t.Fatalf("ssb-lan found %+v, want %q, verified in the ssb-lan format only", e, goAddr)
			}
			if !jsFound[e.Format] {
				t.Logf("ssb-lan found the Go peer (%s, verified %v)", e.Format, e.Verified)
			}
			jsFound[e.Format] = true
		case "echo":
			if e.Address != goAddr.String() || !e.OK {
				t.Fatalf("ssb-lan's echo through %q: %+v", goAddr, e)
			}
			echoed = true
		}
	}
}

// echo dials addr over shs with the app key and checks the echo.
func echo(t *testing.T, appKey []byte, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := ms.Dialer{Config: ms.Config{AppKey: appKey}}
	c, err := d.DialContext(ctx, addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	msg := []byte("hello from Go")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through %s: %q, %v", addr, got, err)
	}
}

// TestVectorsAreJSOutput runs vectors.js and checks that it writes
// lan/testdata/vectors.json byte for byte: the known answers package lan
// is tested against are what ssb-lan and ssb-keys produce.
func TestVectorsAreJSOutput(t *testing.T) {
	requireJS(t)
	want, err := os.ReadFile(filepath.Join("..", "..", "lan", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "vectors.js")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("node vectors.js: %v\n%s", err, stderr.String())
	}
	// The generator line names the Node version, which may differ.
	trim := func(b []byte) []byte {
		lines := bytes.SplitN(b, []byte("\n"), 3)
		if len(lines) < 3 {
			return b
		}
		return lines[2]
	}
	if !bytes.Equal(trim(got), trim(want)) {
		t.Errorf("vectors.js output differs from lan/testdata/vectors.json:\n%s", got)
	}
}
