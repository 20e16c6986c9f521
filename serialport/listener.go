package serialport

import (
	"errors"
	"io/fs"
	"net"
	"sync"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Listener is the listener of a serial device: it hands out one conn at a
// time. See the package documentation for the semantics.
type Listener struct {
	t    *Transport
	addr *Addr

	// token holds one value while no accepted conn is open: Accept takes
	// it, and the close of the accepted conn puts it back.
	token chan struct{}
	done  chan struct{}

	mu      sync.Mutex
	closed  bool
	pending *conn // opened by Listen, not yet returned by Accept
}

var _ stack.Listener = (*Listener)(nil)

func (t *Transport) listen(path string, baud int) (*Listener, error) {
	l := &Listener{
		t:     t,
		addr:  &Addr{Path: path, Baud: baud},
		token: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	l.token <- struct{}{}
	c, err := openConn(path, baud)
	switch {
	case err == nil:
		l.pending = c
		t.opened(path)
	case !missing(err):
		return nil, &net.OpError{Op: "listen", Net: Name, Addr: l.addr, Err: err}
	}
	return l, nil
}

// missing reports whether err says the device is not there (yet): a USB
// adapter unplugged, a device node not created yet.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || missingDevice(err)
}

// openError is a failure to re-open the device in Accept. It is temporary:
// the Listener stays usable and the next Accept tries again, so a caller
// that retries temporary errors (as the multiserver Listener does) keeps
// serving once the device is usable again.
type openError struct{ err error }

func (e *openError) Error() string   { return e.err.Error() }
func (e *openError) Unwrap() error   { return e.err }
func (e *openError) Temporary() bool { return true }
func (e *openError) Timeout() bool   { return false }

func (l *Listener) closedErr() error {
	return &net.OpError{Op: "accept", Net: Name, Addr: l.addr, Err: net.ErrClosed}
}

// Accept returns a conn on the device. It blocks while a conn it returned
// earlier is still open, and while the device is missing (retrying with
// backoff). Any other failure to open the device is returned as a
// temporary error (a net.Error); the Listener stays usable and the next
// Accept tries again. After Close, Accept returns an error wrapping
// net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, l.closedErr()
	default:
	}
	select {
	case <-l.token:
	case <-l.done:
		return nil, l.closedErr()
	}
	l.mu.Lock()
	c := l.pending
	l.pending = nil
	l.mu.Unlock()
	if c == nil {
		var err error
		if c, err = l.open(); err != nil {
			l.token <- struct{}{}
			return nil, err
		}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.Close()
		l.token <- struct{}{}
		return nil, l.closedErr()
	}
	c.setOnClose(func() { l.token <- struct{}{} })
	l.mu.Unlock()
	return c, nil
}

// open opens the device, waiting with backoff while it is missing.
func (l *Listener) open() (*conn, error) {
	delay := l.t.opts.RetryMin
	for {
		c, err := openConn(l.addr.Path, l.addr.Baud)
		if err == nil {
			l.t.opened(l.addr.Path)
			return c, nil
		}
		if !missing(err) {
			return nil, &net.OpError{Op: "accept", Net: Name, Addr: l.addr, Err: &openError{err}}
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-l.done:
			timer.Stop()
			return nil, l.closedErr()
		}
		delay = min(2*delay, l.t.opts.RetryMax)
	}
}

// Close stops the listener: blocked and later Accepts return an error
// wrapping net.ErrClosed, and the device is released unless a conn
// returned by Accept still holds it. As with every net.Listener, conns
// already returned by Accept stay open; closing them is up to their
// owner. Closing a closed Listener does nothing.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	p := l.pending
	l.pending = nil
	l.mu.Unlock()
	if p != nil {
		if err := p.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Addr returns the device address (an *Addr).
func (l *Listener) Addr() net.Addr { return l.addr }

// Advertise implements stack.Listener: the listen section for the device
// scope, nil for every other scope.
func (l *Listener) Advertise(scope stack.Scope) []msaddr.Section {
	if scope != stack.Device {
		return nil
	}
	return []msaddr.Section{l.addr.Section()}
}
