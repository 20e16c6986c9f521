package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/secure/shs"
	"go.uber.org/goleak"
)

// msBin is the ms binary the tests drive, built once by TestMain (with
// -race when the tests run with -race).
var msBin string

// procTimeout bounds every wait on a child process; a race-enabled
// binary on a busy machine is slow, and a hang must still end the test.
const procTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	if flagSet("test.list") || flagSet("test.fuzzworker") {
		// Listing tests and fuzzing FuzzOffsets need no binary.
		goleak.VerifyTestMain(m)
	}
	dir, err := os.MkdirTemp("", "ms-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// TestUnixNoauthOtherUser runs the binary as another user.
	os.Chmod(dir, 0o755)
	msBin = filepath.Join(dir, "ms")
	if runtime.GOOS == "windows" {
		msBin += ".exe"
	}
	args := []string{"build", "-o", msBin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command(goTool(), append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ms:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// flagSet reports whether the test flag name has a non-default value.
func flagSet(name string) bool {
	f := flag.Lookup(name)
	return f != nil && f.Value.String() != f.DefValue
}

// goTool finds the go command: the one running the tests when GOROOT is
// set (go test sets it), else the first in PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// lockedBuffer is a bytes.Buffer safe for the exec copier and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a running ms.
type proc struct {
	t      *testing.T
	args   []string
	cmd    *exec.Cmd
	first  chan string // the first line of stdout
	line   string      // the same, once done
	rest   []byte      // stdout after the first line, once done
	stderr lockedBuffer
	done   chan struct{}
	code   int
}

// testEnv is the environment of the children: HOME points at an empty
// directory so that no real ~/.ssb/secret is ever read.
func testEnv(t *testing.T, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "USERPROFILE=") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	home := t.TempDir()
	// A -race binary sleeps 1s at exit unless told not to; halt_on_error
	// makes a race in the child fail its exit status.
	env = append(env, "HOME="+home, "USERPROFILE="+home, "GORACE=atexit_sleep_ms=0 halt_on_error=1")
	return append(env, extra...)
}

// start runs ms with args and stdin (nil: empty). The process is killed
// in t.Cleanup if it is still running.
func start(t *testing.T, stdin io.Reader, args ...string) *proc {
	return startEnv(t, testEnv(t), stdin, args...)
}

func startEnv(t *testing.T, env []string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	return startAttr(t, env, nil, stdin, args...)
}

func startAttr(t *testing.T, env []string, attr *syscall.SysProcAttr, stdin io.Reader, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, args: args, first: make(chan string, 1), done: make(chan struct{})}
	p.cmd = exec.Command(msBin, args...)
	p.cmd.SysProcAttr = attr
	p.cmd.Env = env
	p.cmd.Stdin = stdin
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		p.line = line
		p.first <- line
		p.rest, _ = io.ReadAll(br)
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// firstLine returns the first line of stdout, without its newline.
func (p *proc) firstLine() string {
	p.t.Helper()
	select {
	case l := <-p.first:
		if !strings.HasSuffix(l, "\n") {
			p.wait()
			p.t.Fatalf("ms %s: no first line on stdout (got %q); exit %d, stderr:\n%s", strings.Join(p.args, " "), l, p.code, p.stderr.String())
		}
		return strings.TrimSuffix(l, "\n")
	case <-time.After(procTimeout):
		p.cmd.Process.Kill()
		p.t.Fatalf("ms %s: no first line on stdout after %v; stderr:\n%s", strings.Join(p.args, " "), procTimeout, p.stderr.String())
		return ""
	}
}

// wait waits for the process to end and returns its exit code.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(procTimeout):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("ms %s: still running after %v; killed; stderr:\n%s", strings.Join(p.args, " "), procTimeout, p.stderr.String())
		return -1
	}
}

// stdout returns all of stdout once the process has ended.
func (p *proc) stdout() string {
	p.t.Helper()
	p.wait()
	return p.line + string(p.rest)
}

// interrupt sends SIGINT and waits for the process to end, returning its
// exit code.
func (p *proc) interrupt() int {
	p.t.Helper()
	return p.signal(os.Interrupt)
}

// signal sends sig and waits for the process to end, returning its exit
// code.
func (p *proc) signal(sig os.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
	return p.wait()
}

// runMS runs ms to completion and returns exit code, stdout and stderr.
func runMS(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	p := start(t, stdin, args...)
	code := p.wait()
	return code, p.stdout(), p.stderr.String()
}

// secretFile writes the secret made from seed byte b into dir and returns
// the path and the public key.
func secretFile(t *testing.T, b byte) (string, ed25519.PublicKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32))
	path := filepath.Join(t.TempDir(), "secret")
	if err := shs.WriteSecretFile(path, priv); err != nil {
		t.Fatal(err)
	}
	return path, priv.Public().(ed25519.PublicKey)
}

func seedHex(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func skipWithoutSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops ms with SIGINT, which Windows cannot send to a child process")
	}
}
