package serialport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/nettest"
	"golang.org/x/sys/unix"

	"github.com/go-multiserver/multiserver/msaddr"
)

// interruptBound is how soon Close must end a blocked Read or Write
// (issue 5's acceptance bound).
const interruptBound = 100 * time.Millisecond

// dialSection dials s as the multiserver layer does: Parse, then Dial.
func dialSection(ctx context.Context, tr *Transport, s msaddr.Section) (net.Conn, error) {
	ep, err := tr.Parse(s)
	if err != nil {
		return nil, err
	}
	return tr.Dial(ctx, ep)
}

func dialPath(t testing.TB, path string, baud int) net.Conn {
	t.Helper()
	c, err := dialSection(context.Background(), New(nil), FormatSection(path, baud))
	if err != nil {
		t.Fatalf("Dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnRoundTrip(t *testing.T) {
	for _, baud := range []int{0, 9600, 115200, 250000, 4000000} {
		t.Run(fmt.Sprint(baud), func(t *testing.T) {
			m, _, path := openPTY(t)
			c := dialPath(t, path, baud)
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 4)
			if _, err := io.ReadFull(m, got); err != nil || string(got) != "ping" {
				t.Fatalf("master read %q, %v; want ping", got, err)
			}
			if _, err := m.Write([]byte("pong\r\n\x03\x11")); err != nil {
				t.Fatal(err)
			}
			got = make([]byte, 8)
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "pong\r\n\x03\x11" {
				t.Fatalf("conn read %q, %v; want the bytes unchanged (raw mode)", got, err)
			}
			if baud == 0 {
				return
			}
			var tio *unix.Termios
			raw(t, c, func(fd int) (err error) { tio, err = unix.IoctlGetTermios(fd, getTermiosReq); return })
			if int(tio.Ospeed) != baud || int(tio.Ispeed) != baud {
				t.Errorf("speed in=%d out=%d, want %d", tio.Ispeed, tio.Ospeed, baud)
			}
			if tio.Cflag&unix.CSIZE != unix.CS8 || tio.Cflag&(unix.PARENB|unix.CSTOPB|unix.CRTSCTS) != 0 {
				t.Errorf("cflag %#x is not 8N1 without flow control", tio.Cflag)
			}
		})
	}
}

// raw runs f on the conn's file descriptor.
func raw(t testing.TB, c net.Conn, f func(fd int) error) {
	t.Helper()
	rc, err := c.(*conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
}

func TestHangupReadsEOF(t *testing.T) {
	m, s, path := openPTY(t)
	c := dialPath(t, path, 0)
	s.Close()
	m.Close()
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if n != 0 || err != io.EOF {
		t.Fatalf("Read after hang-up = %d, %v; want 0, io.EOF", n, err)
	}
}

func TestReadDeadline(t *testing.T) {
	m, _, path := openPTY(t)
	c := dialPath(t, path, 115200)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past deadline = %d, %v; want 0 and a net.Error timeout wrapping os.ErrDeadlineExceeded", n, err)
	}
	c.SetReadDeadline(time.Time{})
	if _, err := m.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:5]); err != nil || string(buf[:5]) != "after" {
		t.Fatalf("Read after a timeout = %q, %v; want the conn still usable", buf[:5], err)
	}
}

func TestCloseInterruptsRead(t *testing.T) {
	_, _, path := openPTY(t)
	c := dialPath(t, path, 0)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 16))
		done <- err
	}()
	start := time.Now()
	c.Close()
	select {
	case err := <-done:
		t.Logf("Read returned %v after Close", time.Since(start))
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read = %v; want an error wrapping net.ErrClosed", err)
		}
	case <-time.After(interruptBound):
		t.Fatalf("Read still blocked %v after Close", interruptBound)
	}
}

func TestCloseInterruptsStalledWrite(t *testing.T) {
	_, _, path := openPTY(t) // nobody reads the master: a stalled peer
	c := dialPath(t, path, 0)
	big := make([]byte, 1<<20)
	// A write deadline proves the line is stalled: the Write stops early.
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := c.Write(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(big) {
		t.Fatalf("Write to a stalled peer with a deadline = %d, %v; want a partial write and a timeout", n, err)
	}
	t.Logf("stalled after %d bytes", n)
	c.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		done <- err
	}()
	start := time.Now()
	c.Close()
	select {
	case err := <-done:
		t.Logf("Write returned %v after Close", time.Since(start))
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write = %v; want an error wrapping net.ErrClosed", err)
		}
	case <-time.After(interruptBound):
		t.Fatalf("Write still blocked %v after Close", interruptBound)
	}
}

func TestStaleInputFlushedOnOpen(t *testing.T) {
	m, _, path := openPTY(t)
	if _, err := m.Write([]byte("stale bytes from an earlier session")); err != nil {
		t.Fatal(err)
	}
	c := dialPath(t, path, 0)
	if _, err := m.Write([]byte("fresh")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "fresh" {
		t.Fatalf("first bytes read = %q, %v; want \"fresh\" (stale input flushed)", buf, err)
	}
}

func TestSecondOpenBusy(t *testing.T) {
	_, _, path := openPTY(t)
	c := dialPath(t, path, 0)
	_, err := dialSection(context.Background(), New(nil), FormatSection(path, 0))
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Dial of %s = %v; want an error naming the device and wrapping ErrBusy", path, err)
	}
	// Another process is refused too.
	out, err := helper(t, "open", path)
	if err != nil || !strings.Contains(out, "busy=true") {
		t.Fatalf("open from another process: %q, %v; want busy=true", out, err)
	}
	// Once closed, the device can be opened again, here and elsewhere.
	c.Close()
	out, err = helper(t, "open", path)
	if err != nil || !strings.Contains(out, "opened") {
		t.Fatalf("open from another process after Close: %q, %v; want opened", out, err)
	}
	dialPath(t, path, 0)
}

// helper runs this test binary as a child process that performs action.
func helper(t *testing.T, action, path string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "SERIALPORT_HELPER="+action, "SERIALPORT_PATH="+path)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestHelperProcess(t *testing.T) {
	if os.Getenv("SERIALPORT_HELPER") != "open" {
		t.Skip("runs only as a child process of TestSecondOpenBusy")
	}
	c, err := dialSection(context.Background(), New(nil), FormatSection(os.Getenv("SERIALPORT_PATH"), 0))
	if err != nil {
		fmt.Printf("busy=%v err=%v\n", errors.Is(err, ErrBusy), err)
		return
	}
	fmt.Println("opened")
	c.Close()
}

func TestHighFD(t *testing.T) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for range 1100 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatalf("opening file %d: %v (raise the open file limit)", len(files), err)
		}
		files = append(files, f)
	}
	m, _, path := openPTY(t)
	c := dialPath(t, path, 115200)
	raw(t, c, func(fd int) error {
		if fd < 1024 {
			return fmt.Errorf("fd %d is below 1024; the test did not test what it should", fd)
		}
		t.Logf("conn fd %d", fd)
		return nil
	})
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("high")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(m, buf); err != nil || string(buf) != "high" {
		t.Fatalf("master read %q, %v", buf, err)
	}
	m.Write([]byte("fd!!"))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "fd!!" {
		t.Fatalf("conn read %q, %v", buf, err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past deadline on a high fd = %v; want a timeout", err)
	}
}

func TestDialErrors(t *testing.T) {
	tr := New(nil)
	dir := t.TempDir()
	notTTY := dir + "/file"
	os.WriteFile(notTTY, nil, 0o600)
	for _, tc := range []struct {
		path string
		want error
	}{
		{dir + "/missing", os.ErrNotExist},
		{notTTY, ErrNotTerminal},
		{os.DevNull, ErrNotTerminal},
	} {
		_, err := dialSection(context.Background(), tr, FormatSection(tc.path, 0))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("Dial %s = %v; want an error naming it and wrapping %v", tc.path, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dialSection(ctx, tr, msaddr.Section{Name: Name, Args: []string{os.DevNull, "0"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a done context = %v; want context.Canceled", err)
	}
}

// TestNetConn runs the x/net/nettest conformance suite over a pty pair:
// c1 is a serial conn on the slave, c2 the pty master (a test adapter).
// The suite needs a close that delivers everything written before it and
// then EOF; a tty hang-up discards the unread input of the side that is
// hung up, so the pair is not run the other way round (c1 on the master):
// over a real serial or RFCOMM link, too, data in flight when the far end
// drops is lost, which is why protocols on top (shs) end with a goodbye.
func TestNetConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		m, s, path := openPTY(t)
		if c1, err = dialSection(context.Background(), New(nil), FormatSection(path, 0)); err != nil {
			return nil, nil, nil, err
		}
		s.Close() // from now on, closing c1 hangs up the master
		c2 = &ptyMaster{f: m}
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}

func TestConnAddrs(t *testing.T) {
	_, _, path := openPTY(t)
	c := dialPath(t, path, 9600)
	for _, a := range []net.Addr{c.LocalAddr(), c.RemoteAddr()} {
		if a.Network() != "serial" || a.String() != path {
			t.Errorf("addr = %s %s; want serial %s", a.Network(), a, path)
		}
		s, ok := New(nil).Section(a)
		if !ok || s.String() != "serial:"+path+":9600" {
			t.Errorf("Section = %v, %v", s, ok)
		}
	}
	if _, ok := New(nil).Section(&net.TCPAddr{}); ok {
		t.Error("Section accepted a TCP address")
	}
}
