package serialport

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/internal/ptytest"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal in raw mode. It returns the master, the
// slave (held open by the test so that the tty stays up when a conn on it
// closes, as a UART does) and the slave's path. Both are closed at the end
// of the test.
func openPTY(t testing.TB) (master, slave *os.File, path string) {
	t.Helper()
	m, s := ptytest.Open(t)
	t.Cleanup(func() { m.Close(); s.Close() })
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var terr error
	rc.Control(func(fd uintptr) {
		var tio *unix.Termios
		if tio, terr = unix.IoctlGetTermios(int(fd), getTermiosReq); terr != nil {
			return
		}
		makeRaw(tio)
		terr = unix.IoctlSetTermios(int(fd), setTermiosReq, tio)
	})
	if terr != nil {
		t.Fatalf("raw mode on %s: %v", s.Name(), terr)
	}
	return m, s, s.Name()
}

// link joins two pseudo-terminals by copying between their masters, so
// that the two slave paths are the two ends of one serial line.
type link struct {
	A, B     string // slave paths
	holders  []*os.File
	masters  []*os.File
	wg       sync.WaitGroup
	hangOnce sync.Once
}

// newLink makes a link. While the test holds the slaves open (until
// release), a conn closing at one end leaves the line up, as with a UART.
// After release, the last close at one end hangs up the other, as a
// dropped RFCOMM link does.
func newLink(t testing.TB) *link {
	t.Helper()
	ma, sa, pa := openPTY(t)
	mb, sb, pb := openPTY(t)
	l := &link{A: pa, B: pb, holders: []*os.File{sa, sb}, masters: []*os.File{ma, mb}}
	l.wg.Add(2)
	go l.copy(mb, ma)
	go l.copy(ma, mb)
	t.Cleanup(l.close)
	return l
}

func (l *link) copy(dst, src *os.File) {
	defer l.wg.Done()
	io.Copy(dst, src)
	// src failed: its slave has no user any more (EIO) or the test is
	// over. Either way the line is down.
	l.hangup()
}

func (l *link) hangup() {
	l.hangOnce.Do(func() {
		for _, m := range l.masters {
			m.Close()
		}
	})
}

// release stops holding the slaves open.
func (l *link) release() {
	for _, s := range l.holders {
		s.Close()
	}
}

func (l *link) close() {
	l.release()
	l.hangup()
	l.wg.Wait()
}

// ptyMaster is a pty master as a net.Conn, for the far end of a conn under
// test. Once the slave is closed, the master reads EIO: that is its EOF.
type ptyMaster struct{ f *os.File }

type ptyAddr struct{}

func (ptyAddr) Network() string { return "pty" }
func (ptyAddr) String() string  { return "/dev/ptmx" }

func (p *ptyMaster) err(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if errors.Is(err, unix.EIO) && op == "read" {
		return io.EOF
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, os.ErrClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "pty", Err: err}
}

func (p *ptyMaster) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	return n, p.err("read", err)
}

func (p *ptyMaster) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	return n, p.err("write", err)
}

func (p *ptyMaster) Close() error                       { return p.err("close", p.f.Close()) }
func (p *ptyMaster) LocalAddr() net.Addr                { return ptyAddr{} }
func (p *ptyMaster) RemoteAddr() net.Addr               { return ptyAddr{} }
func (p *ptyMaster) SetDeadline(t time.Time) error      { return p.f.SetDeadline(t) }
func (p *ptyMaster) SetReadDeadline(t time.Time) error  { return p.f.SetReadDeadline(t) }
func (p *ptyMaster) SetWriteDeadline(t time.Time) error { return p.f.SetWriteDeadline(t) }
