package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Deterministic identities: the ed25519 key whose seed is sha256(name), as
// js/common.js keysFromSeed computes it.
const (
	serverSeed = "interop-server"
	clientSeed = "interop-client"
)

func keyFromSeed(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(s[:])
}

func pubB64(k ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

// appKey is sha256 of name, the way multiserver's own tests make theirs
// (sha256("TEST")).
func appKey(name string) []byte {
	k := sha256.Sum256([]byte(name))
	return k[:]
}

var (
	testAppKey  = appKey("TEST")
	otherAppKey = appKey("OTHER NETWORK")
)

// pattern returns n bytes of the test payload starting at offset: byte i is
// i % 251, as in js/common.js.
func pattern(offset, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((offset + i) % 251)
	}
	return b
}

// Payload sizes of every echo cell.
var sizes = []struct {
	name string
	n    int
}{
	{"0B", 0},
	{"1KiB", 1 << 10},
	{"10MiB", 10 << 20},
}

// requireJS skips the test when node or interop/node_modules is missing,
// unless MS_INTEROP_REQUIRED=1, in which case the test fails: CI sets it so
// that a broken setup cannot pass as a skip.
func requireJS(t testing.TB) {
	t.Helper()
	if err := jsAvailable(); err != nil {
		if os.Getenv("MS_INTEROP_REQUIRED") == "1" {
			t.Fatalf("MS_INTEROP_REQUIRED=1 but the JS peers cannot run: %v", err)
		}
		t.Skipf("skipping interop test: %v (run interop/ci.sh, or npm ci in interop/, to set up)", err)
	}
}

var jsCheck = sync.OnceValue(func() error {
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node is not installed: %w", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "multiserver", "package.json")); err != nil {
		return fmt.Errorf("interop/node_modules has no multiserver (npm ci not run): %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "-e", `const v=require("multiserver/package.json").version; if (v!=="3.8.2") throw new Error("multiserver "+v+", want 3.8.2"); require("chloride"); require("./js/common")`).CombinedOutput()
	if err != nil {
		return fmt.Errorf("node cannot load the JS peers: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
})

func jsAvailable() error { return jsCheck() }

// shortDir returns a fresh directory with a short path: unix socket paths
// are limited to about 104 bytes.
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "msi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// event is one line the JS server prints after its address.
type event struct {
	Ev      string `json:"ev"`
	Address string `json:"address"`
	Key     string `json:"key"`
	OK      bool   `json:"ok"`
	Bytes   int64  `json:"bytes"`
	End     string `json:"end"`
	Error   string `json:"error"`
}

// jsServer is a running js/server.js.
type jsServer struct {
	Addr   string // the first stdout line, as printed
	events chan event
	stdin  io.WriteCloser
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{} // closed when the stdout reader ends
}

type jsServerOpts struct {
	stacks  string // e.g. "net,ws,unix"
	host    string // "127.0.0.1" or "::1"
	seed    string // identity name; default serverSeed
	appKey  []byte // default testAppKey
	allow   []string
	unixDir string
}

// startJSServer runs js/server.js and waits for its advertised address. The
// server is stopped (its stdin closed) when the test ends.
func startJSServer(t testing.TB, o jsServerOpts) *jsServer {
	t.Helper()
	if o.seed == "" {
		o.seed = serverSeed
	}
	if o.appKey == nil {
		o.appKey = testAppKey
	}
	if o.host == "" {
		o.host = "127.0.0.1"
	}
	args := []string{"js/server.js", "--stacks", o.stacks, "--host", o.host, "--seed", o.seed,
		"--appkey", base64.StdEncoding.EncodeToString(o.appKey)}
	if len(o.allow) > 0 {
		args = append(args, "--allow", strings.Join(o.allow, ","))
	}
	if strings.Contains(o.stacks, "unix") {
		if o.unixDir == "" {
			o.unixDir = shortDir(t)
		}
		args = append(args, "--unixdir", o.unixDir)
	}
	cmd := exec.Command("node", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &jsServer{events: make(chan event, 1024), stdin: stdin, cmd: cmd, stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start JS server: %v", err)
	}
	first := make(chan string, 1)
	go func() {
		defer close(s.done)
		defer close(s.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if !sc.Scan() {
			first <- ""
			return
		}
		first <- sc.Text()
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = event{Ev: "garbage", Error: sc.Text()}
			}
			s.events <- e
		}
	}()
	t.Cleanup(s.stop)
	select {
	case s.Addr = <-first:
	case <-time.After(30 * time.Second):
		t.Fatalf("JS server printed no address within 30s; stderr: %s", s.stderr)
	}
	if s.Addr == "" {
		s.stop()
		t.Fatalf("JS server exited without an address; stderr: %s", s.stderr)
	}
	return s
}

func (s *jsServer) stop() {
	s.stdin.Close()
	timer := time.AfterFunc(10*time.Second, func() { s.cmd.Process.Kill() })
	<-s.done
	s.cmd.Wait()
	timer.Stop()
}

// part returns the alternative of the advertised address whose stack starts
// with transport, split the way multiserver splits it (on every ';').
func (s *jsServer) part(t testing.TB, transport string) string {
	t.Helper()
	for _, p := range strings.Split(s.Addr, ";") {
		if strings.HasPrefix(p, transport+":") {
			return p
		}
	}
	t.Fatalf("JS server address %q has no %s alternative", s.Addr, transport)
	return ""
}

// next waits for the server's next event.
func (s *jsServer) next(t testing.TB, timeout time.Duration) event {
	t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			t.Fatalf("JS server exited; stderr: %s", s.stderr)
		}
		return e
	case <-time.After(timeout):
		t.Fatalf("no event from the JS server within %v", timeout)
	}
	return event{}
}

// expect reads events until one of kind ev arrives and returns it together
// with the events before it.
func (s *jsServer) expect(t testing.TB, ev string) (event, []event) {
	t.Helper()
	var before []event
	for {
		e := s.next(t, 30*time.Second)
		if e.Ev == ev {
			return e, before
		}
		before = append(before, e)
	}
}

// jsResult is how a run of js/client.js ended.
type jsResult struct {
	code   int    // exit code; -1 if node could not be run
	stdout string // "ok bytes=..." on success
	stderr string // "error: ..." on failure
}

func (r jsResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

type jsClientOpts struct {
	seed   string // default clientSeed
	appKey []byte // default testAppKey
}

// runJSClient dials addr with js/client.js and echoes n bytes. It is safe
// to call from several goroutines.
func runJSClient(t testing.TB, addr string, n int, o jsClientOpts) jsResult {
	t.Helper()
	if o.seed == "" {
		o.seed = clientSeed
	}
	if o.appKey == nil {
		o.appKey = testAppKey
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "js/client.js", addr, fmt.Sprint(n), "--seed", o.seed,
		"--appkey", base64.StdEncoding.EncodeToString(o.appKey), "--deadline", "60000")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := jsResult{stdout: strings.TrimSpace(stdout.String()), stderr: strings.TrimSpace(stderr.String())}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default: // node did not run; no t.Fatal here, callers may be goroutines
		r.code, r.stderr = -1, "run JS client: "+err.Error()
	}
	return r
}
