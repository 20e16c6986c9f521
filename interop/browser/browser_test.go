//go:build linux

package browser

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// binDir holds the ms binary built for these tests.
var binDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "ms-browser-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = d
	code := m.Run()
	os.RemoveAll(d)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// echoSize is what every browser echo moves each way.
const echoSize = 1 << 20

// chromiumFlags are needed to run Chromium headless as root on a machine
// with no network but loopback: without the background-networking ones
// it keeps trying to reach Google's hosts.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
}

// required says whether a missing browser fails the tests instead of
// skipping them: in CI, and with MS_INTEROP_REQUIRED=1.
func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("MS_INTEROP_REQUIRED") == "1"
}

// chromium returns the browser to run: $MS_CHROMIUM, or chromium on PATH.
var chromium = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("MS_CHROMIUM"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("chromium is not installed (apt-get install chromium, or set MS_CHROMIUM): %w", err)
	}
	return p, nil
})

// requireBrowser skips the test when Chromium or the built page is
// missing, or fails it where they are required.
func requireBrowser(t *testing.T) string {
	t.Helper()
	bin, err := chromium()
	if err == nil {
		if _, err = os.Stat(filepath.Join("dist", "ms-browser.js")); err != nil {
			err = fmt.Errorf("the page is not built (npm ci && npm run build in interop/browser): %w", err)
		}
	}
	if err != nil {
		if required() {
			t.Fatalf("CI=true or MS_INTEROP_REQUIRED=1, but the browser test cannot run: %v", err)
		}
		t.Skipf("skipping browser test: %v", err)
	}
	return bin
}

// msBin builds cmd/ms once.
var msBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "ms")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/ms").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/ms: %v: %s", err, out)
	}
	return bin, nil
})

// logWatch collects the lines a process writes and lets a test wait for
// one, without polling.
type logWatch struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{} // closed and replaced at each line
}

func newLogWatch() *logWatch { return &logWatch{changed: make(chan struct{})} }

func (w *logWatch) add(line string) {
	w.mu.Lock()
	w.buf.WriteString(line + "\n")
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until the log contains s, for at most d.
func (w *logWatch) waitFor(t *testing.T, s string, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		w.mu.Lock()
		ok, ch := strings.Contains(w.buf.String(), s), w.changed
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("no %q in the log after %v:\n%s", s, d, w.String())
		}
	}
}

// listener is a running `ms listen --echo`.
type listener struct {
	addr string // the first stdout line: the advertised address
	key  ed25519.PublicKey
	log  *logWatch // stderr
}

// serverKey is the listener's identity: a fixed seed, so that the key in
// the address the page dials is known.
var serverKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))

// startListen runs `ms listen --echo --http-dir dist ARGS...` with the
// identity serverKey; it is stopped with SIGINT when the test ends, and
// must exit 0.
func startListen(t *testing.T, args ...string) *listener {
	t.Helper()
	bin, err := msBin()
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	js, _ := json.Marshal(map[string]string{
		"curve":   "ed25519",
		"public":  base64.StdEncoding.EncodeToString(serverKey.Public().(ed25519.PublicKey)) + ".ed25519",
		"private": base64.StdEncoding.EncodeToString(serverKey) + ".ed25519",
	})
	if err := os.WriteFile(secret, js, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"listen", "--echo", "--secret", secret, "--http-dir", "dist"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &listener{key: serverKey.Public().(ed25519.PublicKey), log: newLogWatch()}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l.log.add(sc.Text())
		}
	}()
	first := make(chan string, 1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		wg.Wait()
		if err := cmd.Wait(); err != nil {
			t.Errorf("ms listen after SIGINT: %v; stderr:\n%s", err, l.log)
		}
	})
	select {
	case a, ok := <-first:
		if !ok {
			t.Fatalf("ms listen printed no address; stderr:\n%s", l.log)
		}
		l.addr = a
	case <-time.After(30 * time.Second):
		t.Fatalf("ms listen printed no address in 30s; stderr:\n%s", l.log)
	}
	return l
}

// httpBase is "http://127.0.0.1:PORT" of the listener's first (ws)
// alternative, where --http-dir serves the page.
func (l *listener) httpBase() string {
	first, _, _ := strings.Cut(l.addr, ";")
	wsPart, _, _ := strings.Cut(first, "~")
	return "http" + strings.TrimPrefix(wsPart, "ws")
}

// result is what the page reports (see src/page.js).
type result struct {
	OK        bool    `json:"ok"`
	Stage     string  `json:"stage"`
	Error     string  `json:"error"`
	Bytes     int     `json:"bytes"`
	SHA256    string  `json:"sha256"`
	ClientKey string  `json:"clientKey"`
	ServerKey string  `json:"serverKey"`
	Address   string  `json:"address"`
	EchoMs    float64 `json:"echoMs"`
}

// collector receives the page's report on /report, and serves the page
// itself (from dist/) on every other path, on a loopback port of its own:
// a page loaded from it has another origin than the listener.
type collector struct {
	srv     *httptest.Server
	reports chan result
}

func newCollector(t *testing.T) *collector {
	c := &collector{reports: make(chan result, 4)}
	files := http.FileServer(http.Dir("dist"))
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/report" {
			files.ServeHTTP(w, r)
			return
		}
		var res result
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&res); err != nil {
			res = result{Stage: "report", Error: "the page's report is not JSON: " + err.Error()}
		}
		c.reports <- res
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// pageURL is the page at base (an http://host:port) told to dial addr,
// echo n bytes and report to c.
func (c *collector) pageURL(base, addr string, n int) string {
	q := url.Values{"addr": {addr}, "n": {fmt.Sprint(n)}, "report": {c.srv.URL + "/report"}}
	return base + "/index.html?" + q.Encode()
}

// browse opens page in a fresh headless Chromium and returns the page's
// report. If Chromium does not start, exits, or the page reports nothing
// within the deadline, the test fails (never skips): the browser's own
// log is in the message.
func browse(t *testing.T, c *collector, page string) result {
	t.Helper()
	bin := requireBrowser(t)
	profile, err := os.MkdirTemp("", "ms-chromium")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(chromiumFlags, "--user-data-dir="+profile, page)...)
	// Chromium runs as a tree of processes: kill the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var log bytes.Buffer
	var logMu sync.Mutex
	cmd.Stdout = io.Discard
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return log.Write(p) })
	if err := cmd.Start(); err != nil {
		t.Fatalf("the browser cannot start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	browserLog := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return lastLines(log.String(), 30)
	}
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	var res result
	select {
	case res = <-c.reports:
	case err := <-exited:
		t.Fatalf("the browser exited before the page reported (%v); its log:\n%s", err, browserLog())
	case <-deadline.C:
		cancel()
		<-exited
		t.Fatalf("the page reported nothing in 90s; the browser's log:\n%s", browserLog())
	}
	cancel()
	<-exited
	return res
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// patternSHA256 is the hex SHA-256 of n bytes of the test pattern (byte
// i is i % 251), which the page writes and checks.
func patternSHA256(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkEcho checks a successful 1 MiB echo over ws~shs: the bytes, the
// keys both sides saw, and the listener's log of the conn.
func checkEcho(t *testing.T, l *listener, res result) {
	t.Helper()
	if !res.OK {
		t.Fatalf("the page failed at %s: %s", res.Stage, res.Error)
	}
	if res.Bytes != echoSize || res.SHA256 != patternSHA256(echoSize) {
		t.Errorf("the page got %d bytes with SHA-256 %s; want %d with %s", res.Bytes, res.SHA256, echoSize, patternSHA256(echoSize))
	}
	if want := base64.StdEncoding.EncodeToString(l.key); res.ServerKey != want {
		t.Errorf("the page saw server key %s; the listener's is %s", res.ServerKey, want)
	}
	// The listener logs the key the page proved, and the byte counts.
	l.log.waitFor(t, "key @"+res.ClientKey+".ed25519", 10*time.Second)
	l.log.waitFor(t, fmt.Sprintf("closed after %d bytes in, %d out", echoSize, echoSize), 10*time.Second)
	t.Logf("echo of %d bytes in %.0f ms (the page's clock)", res.Bytes, res.EchoMs)
}

// TestBrowserEcho: a page echoes 1 MiB over ws~shs with `ms listen`,
// once served by the listener itself (--http-dir, the same origin as the
// WebSocket) and once from another loopback port (another origin).
func TestBrowserEcho(t *testing.T) {
	requireBrowser(t)
	c := newCollector(t)
	for _, tc := range []struct {
		name string
		base func(l *listener) string
	}{
		{"same-origin", (*listener).httpBase},
		{"cross-origin", func(*listener) string { return c.srv.URL }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startListen(t, "ws://127.0.0.1:0~shs")
			res := browse(t, c, c.pageURL(tc.base(l), l.addr, echoSize))
			checkEcho(t, l, res)
			if res.Address != l.addr {
				t.Errorf("the page names its conn %q; dialled %q", res.Address, l.addr)
			}
		})
	}
}

// TestBrowserWrongServerKey: a page that dials the listener with another
// server key fails in its shs client, with the JS error, and the
// listener logs the failed handshake; no conn reaches the application.
func TestBrowserWrongServerKey(t *testing.T) {
	requireBrowser(t)
	c := newCollector(t)
	l := startListen(t, "ws://127.0.0.1:0~shs")
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)).Public().(ed25519.PublicKey)
	wsPart, _, _ := strings.Cut(l.addr, "~")
	wrong := wsPart + "~shs:" + base64.StdEncoding.EncodeToString(other)
	res := browse(t, c, c.pageURL(l.httpBase(), wrong, echoSize))
	t.Logf("the page reported: %+v", res)
	// secret-handshake's words for a server that closed on its hello.
	if res.OK || res.Stage != "connect" || !strings.Contains(res.Error, "shs.client: server hung up when we sent hello") {
		t.Fatalf("the page reported %+v; want a failure in connect with the JS shs error", res)
	}
	l.log.waitFor(t, "handshake failed: "+shs.ErrServerKey.Error(), 10*time.Second)
	if strings.Contains(l.log.String(), ", key @") { // how ms listen logs an accepted conn
		t.Errorf("a conn with the wrong server key reached the application:\n%s", l.log)
	}
}

// TestBrowserOriginPolicy runs the origin policy with the browser's own
// Origin header: a page from another origin is refused by a ws~noauth
// listener (403, logged; the page fails to connect) unless --ws-origin
// lists the page's origin, and is let in by the listener's own page.
func TestBrowserOriginPolicy(t *testing.T) {
	requireBrowser(t)
	c := newCollector(t)
	noauthAddr := func(l *listener) string {
		if !strings.HasSuffix(l.addr, "~noauth") {
			t.Fatalf("listener address %q is not ws~noauth", l.addr)
		}
		return l.addr
	}
	t.Run("cross-origin-refused", func(t *testing.T) {
		l := startListen(t, "ws://127.0.0.1:0~noauth")
		res := browse(t, c, c.pageURL(c.srv.URL, noauthAddr(l), 1024))
		// The JS noauth transform adds no handshake, so the refusal shows
		// when the stream starts, as a WebSocket error event.
		if res.OK || res.Bytes != 0 || !strings.Contains(res.Error, "WebSocket error event") {
			t.Fatalf("the page reported %+v; want the WebSocket to fail before any byte", res)
		}
		l.log.waitFor(t, fmt.Sprintf("ws: origin not allowed: page origin %q", c.srv.URL), 10*time.Second)
		if strings.Contains(l.log.String(), "conn 1:") { // no conn, not even a failed handshake
			t.Errorf("a refused page reached the multiserver listener:\n%s", l.log)
		}
	})
	t.Run("cross-origin-listed", func(t *testing.T) {
		l := startListen(t, "--ws-origin", c.srv.URL, "ws://127.0.0.1:0~noauth")
		res := browse(t, c, c.pageURL(c.srv.URL, noauthAddr(l), 1024))
		if !res.OK || res.Bytes != 1024 {
			t.Fatalf("the page reported %+v; want a 1 KiB echo", res)
		}
		l.log.waitFor(t, "conn 1: ws~noauth from ", 10*time.Second)
	})
	t.Run("same-origin", func(t *testing.T) {
		l := startListen(t, "ws://127.0.0.1:0~noauth")
		res := browse(t, c, c.pageURL(l.httpBase(), noauthAddr(l), 1024))
		if !res.OK || res.Bytes != 1024 {
			t.Fatalf("the page reported %+v; want a 1 KiB echo", res)
		}
		l.log.waitFor(t, "conn 1: ws~noauth from ", 10*time.Second)
	})
}

// TestBrowserAndGoClient: a Go client and a browser on one listener at
// once. The Go client echoes half of its 1 MiB, holds its conn open while
// the page echoes its own 1 MiB, then echoes the rest; the listener logs
// the page's conn closed while the Go conn is still open.
func TestBrowserAndGoClient(t *testing.T) {
	requireBrowser(t)
	c := newCollector(t)
	l := startListen(t, "ws://127.0.0.1:0~shs")
	goKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	d := &ms.Dialer{Config: ms.Config{Identity: goKey}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := d.DialContext(ctx, l.addr)
	if err != nil {
		t.Fatalf("Go client: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	payload := make([]byte, echoSize)
	for i := range payload {
		payload[i] = byte(i*7 + i>>11)
	}
	echoPart := func(p []byte) {
		t.Helper()
		errc := make(chan error, 1)
		go func() { _, err := conn.Write(p); errc <- err }()
		got := make([]byte, len(p))
		if _, err := io.ReadFull(conn, got); err != nil {
			t.Fatalf("Go client: reading the echo: %v", err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("Go client: write: %v", err)
		}
		if !bytes.Equal(got, p) {
			t.Fatal("Go client: the echo differs from what was sent")
		}
	}
	echoPart(payload[:echoSize/2])
	l.log.waitFor(t, "conn 1: ws~shs from ", 10*time.Second)

	res := browse(t, c, c.pageURL(l.httpBase(), l.addr, echoSize))
	checkEcho(t, l, res) // waits for the listener's "conn 2: closed after 1048576 bytes"
	if !strings.Contains(l.log.String(), "conn 2: ws~shs from ") {
		t.Errorf("the page's conn is not conn 2:\n%s", l.log)
	}
	if strings.Contains(l.log.String(), "conn 1: closed") {
		t.Fatalf("the Go conn closed before the page's echo ended:\n%s", l.log)
	}

	echoPart(payload[echoSize/2:])
	if err := conn.(*ms.Conn).CloseWrite(); err != nil {
		t.Fatalf("Go client: CloseWrite: %v", err)
	}
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Go client: after the echo read %d bytes, %v; want io.EOF", n, err)
	}
	l.log.waitFor(t, fmt.Sprintf("conn 1: closed after %d bytes in, %d out", echoSize, echoSize), 10*time.Second)
	goPub := base64.StdEncoding.EncodeToString(goKey.Public().(ed25519.PublicKey))
	if !strings.Contains(l.log.String(), "conn 1: ws~shs from ") || !strings.Contains(l.log.String(), "key @"+goPub+".ed25519") {
		t.Errorf("the listener did not log the Go client's key %s:\n%s", goPub, l.log)
	}
}
