//go:build linux

package serialport

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

const (
	// rearmBound bounds every wait of FuzzRearm; reaching it is a hang.
	rearmBound = 20 * time.Second

	// rearmTail follows the fuzzed bytes on the line: zeros enough to fail
	// the shs server in any state the garbage can leave it in (64 bytes
	// short of msg1, or msg1 accepted and 112 bytes short of msg3), so
	// that every attempt ends with exactly one failed handshake.
	rearmTail = 64 + 112

	// rearmMax caps garbage and tail at one write of at most 2048 bytes,
	// which the pty takes in one piece (the kernel splits tty writes in
	// 2048-byte chunks): all of it is queued before the server reads any,
	// so the flush when the listener re-opens the device drops whatever
	// the failed handshake did not read.
	rearmMax = 2048 - rearmTail
)

// rearmRig is a multiserver Listener with shs on the slave of a pty, and
// the test as the client on the master: bytes written to the master are
// queued at the slave when Write returns, with no copier in between, so the
// test knows what is on the line.
type rearmRig struct {
	master *ptyMaster
	ln     *ms.Listener
	client *shs.Config

	ev       chan struct{} // a counter below moved
	opens    atomic.Int64  // the listener (re)opened the device
	fails    atomic.Int64  // handshakes that failed
	accepted atomic.Int64  // conns returned by Accept
	lastErr  atomic.Pointer[error]
	want     int64 // opens expected once the listener has re-armed
}

func (r *rearmRig) notify() {
	select {
	case r.ev <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds.
func (r *rearmRig) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(rearmBound)
	defer timer.Stop()
	for !cond() {
		select {
		case <-r.ev:
		case <-timer.C:
			t.Fatalf("waited %v for %s (opens %d, want %d; failed handshakes %d; accepted %d)",
				rearmBound, what, r.opens.Load(), r.want, r.fails.Load(), r.accepted.Load())
		}
	}
}

func newRearmRig(t testing.TB) *rearmRig {
	t.Helper()
	m, _, path := openPTY(t) // the test holds the slave: a server close does not hang up the master
	r := &rearmRig{master: &ptyMaster{m}, ev: make(chan struct{}, 1), want: 1}
	tr := New(nil)
	tr.onOpen = func(string) { r.opens.Add(1); r.notify() }
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	r.client = &shs.Config{ServerKey: pub, HandshakeTimeout: rearmBound}
	lc := ms.ListenConfig{
		Config: ms.Config{Identity: priv, Transports: []stack.Transport{tr}},
		// No timeout may end a handshake between iterations (the fuzzing
		// engine pauses at will): every failure must be the garbage's.
		HandshakeTimeout: time.Hour,
		OnError: func(err error) {
			r.lastErr.Store(&err)
			r.fails.Add(1)
			r.notify()
		},
	}
	ln, err := lc.Listen(context.Background(), FormatSection(path, 0).String()+"~shs")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	r.ln = ln
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // echo server, one conn at a time as the device allows
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Accept: %v", err)
				}
				return
			}
			r.accepted.Add(1)
			io.Copy(c, c)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return r
}

// keepOpen is the master as the client's net.Conn. shs closes its conn
// when a handshake fails or times out; this Close only interrupts pending
// I/O, so the pty outlives the session.
type keepOpen struct{ *ptyMaster }

func (k keepOpen) Close() error { return k.SetDeadline(time.Unix(1, 0)) }

// flushMaster drops what the server wrote that no session will read (msg2
// of a replayed hello).
func (r *rearmRig) flushMaster(t testing.TB) {
	t.Helper()
	rc, err := r.master.f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = unix.IoctlSetInt(int(fd), unix.TCFLSH, unix.TCIFLUSH) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatalf("tcflush on the pty master: %v", ferr)
	}
}

// replayedHello is a valid shs msg1 for the main network (HMAC of a fixed
// ephemeral key under the app key), as a stale hello from an earlier
// session would be.
func replayedHello(t testing.TB) []byte {
	k, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	pub := k.PublicKey().Bytes()
	mac := hmac.New(sha512.New, shs.MainNetKey[:])
	mac.Write(pub)
	return append(mac.Sum(nil)[:32], pub...)
}

// FuzzRearm sends fuzzed bytes over a serial line to a multiserver shs
// listener before a real client dials. Property: the garbage attempt fails
// (exactly one failed handshake, reported as ErrHandshake and never
// returned by Accept), the listener re-arms (re-opens the device, flushing
// the rest), and the next dial gets through on its first try with an exact
// echo of the garbage; the session then ends cleanly and the listener
// re-arms again.
func FuzzRearm(f *testing.F) {
	hello := replayedHello(f)
	for _, s := range [][]byte{
		nil,
		{0},
		[]byte("garbage!"),
		bytes.Repeat([]byte("garbage!"), 8), // one hello's worth
		bytes.Repeat([]byte{0xff}, 63),
		bytes.Repeat([]byte{0x55}, 65),
		bytes.Repeat([]byte("AT\r\n"), 100),
		hello,                                  // a stale hello: msg1 accepted, msg3 fails
		hello[:40],                             // half a hello
		append(bytes.Clone(hello), hello...),   // two
		append(bytes.Clone(hello), "junk"...),  // hello and a bit of msg3
		bytes.Repeat([]byte{0xa5}, rearmMax+1), // capped
	} {
		f.Add(s)
	}
	r := newRearmRig(f)
	var buf bytes.Buffer

	f.Fuzz(func(t *testing.T, garbage []byte) {
		if len(garbage) > rearmMax {
			garbage = garbage[:rearmMax]
		}
		r.waitFor(t, "the listener to re-arm", func() bool { return r.opens.Load() >= r.want })
		if n := r.opens.Load(); n != r.want {
			t.Fatalf("listener opened the device %d times; want %d", n, r.want)
		}
		fails, accepted := r.fails.Load(), r.accepted.Load()

		// The garbage and its tail, in one write.
		buf.Reset()
		buf.Write(garbage)
		buf.Write(make([]byte, rearmTail))
		r.master.SetDeadline(time.Now().Add(rearmBound))
		if _, err := r.master.Write(buf.Bytes()); err != nil {
			t.Fatalf("writing %d bytes of garbage: %v", buf.Len(), err)
		}
		r.want++
		r.waitFor(t, "the garbage handshake to fail and the listener to re-arm", func() bool {
			return r.fails.Load() > fails && r.opens.Load() >= r.want
		})
		if err := *r.lastErr.Load(); !errors.Is(err, ms.ErrHandshake) {
			t.Fatalf("listener reported %v; want an error wrapping ErrHandshake", err)
		}
		r.flushMaster(t)

		// A proper client, on its first try.
		c := shs.Client(keepOpen{r.master}, r.client)
		r.master.SetDeadline(time.Now().Add(rearmBound))
		if err := c.Handshake(); err != nil {
			t.Fatalf("handshake after %d bytes of garbage: %v", len(garbage), err)
		}
		want := append([]byte("echo:"), garbage...)
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(want)
			if err == nil {
				err = c.CloseWrite() // our goodbye: the server's io.Copy ends
			}
			werr <- err
		}()
		got, err := io.ReadAll(c) // to the server's goodbye: the line is quiet
		if werr := <-werr; werr != nil {
			t.Fatalf("Write: %v", werr)
		}
		if err != nil {
			t.Fatalf("reading the echo: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("echo %q; want %q", got, want)
		}
		c.Close()
		r.want++ // the echo conn closed: the listener re-opens the device

		if n := r.fails.Load(); n != fails+1 {
			t.Fatalf("%d handshakes failed for one garbage attempt", n-fails)
		}
		if n := r.accepted.Load(); n != accepted+1 {
			t.Fatalf("Accept returned %d conns for one client", n-accepted)
		}
	})
}
