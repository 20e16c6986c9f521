package multiserver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// A Trace is a set of hooks that see what a Dialer or Listener does, in
// the style of net/http/httptrace: set Config.Trace and the hooks that are
// not nil are called. A nil Trace costs nothing: no hook is looked up, no
// time is read and conns are not wrapped.
//
// Hooks are called from the goroutines of the dial or the listener,
// possibly concurrently, and must not block for long. The info values they
// get never hold key material other than public keys.
type Trace struct {
	// DialStart is called when DialContext starts, before any lookup.
	DialStart func(DialStartInfo)
	// ConnectStart is called before an alternative's transport dials.
	ConnectStart func(ConnectInfo)
	// ConnectDone is called when an alternative's transport dial ended;
	// Err is nil if it connected.
	ConnectDone func(ConnectInfo)
	// DialDone is called when DialContext returns.
	DialDone func(DialDoneInfo)

	// Accept is called for every conn a listening stack's transport
	// accepted, before the accept policy and the limits; Err is set
	// (Reason "refused" or "over-limit") if the listener closed it at
	// once.
	Accept func(AcceptInfo)

	// HandshakeStart is called before the transforms run, on both sides.
	HandshakeStart func(HandshakeInfo)
	// HandshakeDone is called when the transforms ended, on both sides;
	// Err and Reason say why they failed.
	HandshakeDone func(HandshakeInfo)

	// Closed is called once when a conn that finished its handshake is
	// closed, with the bytes moved over it.
	Closed func(CloseInfo)
}

// DialStartInfo is what Trace.DialStart gets.
type DialStartInfo struct {
	Addr string // the address as given to DialContext, invite seeds masked (msaddr.Redact)
}

// DialDoneInfo is what Trace.DialDone gets.
type DialDoneInfo struct {
	Addr     string // as in DialStartInfo
	Conn     *Conn  // nil on failure
	Err      error  // the error DialContext returns
	Duration time.Duration
}

// ConnectInfo is what Trace.ConnectStart and ConnectDone get.
type ConnectInfo struct {
	Alt      Alternative
	Err      error         // ConnectDone only
	Reason   string        // ConnectDone only: FailureReason(Err)
	Duration time.Duration // ConnectDone only
}

// AcceptInfo is what Trace.Accept gets.
type AcceptInfo struct {
	Stack  string   // the listening stack, e.g. "net~shs"
	Remote net.Addr // the transport's remote address
	Err    error    // why the listener closed the conn at once, or nil
	Reason string   // FailureReason(Err), "" if Err is nil
}

// HandshakeInfo is what Trace.HandshakeStart and HandshakeDone get.
type HandshakeInfo struct {
	Dialing bool        // the dialing side; false on a Listener
	Alt     Alternative // dialing side only
	Stack   string      // e.g. "net~shs"
	Remote  net.Addr    // the transport's remote address

	Conn     *Conn         // HandshakeDone only, nil on failure
	Err      error         // HandshakeDone only
	Reason   string        // HandshakeDone only: FailureReason(Err)
	Duration time.Duration // HandshakeDone only
}

// CloseInfo is what Trace.Closed gets.
type CloseInfo struct {
	Dialing  bool
	Stack    string
	Local    net.Addr // the conn's LocalAddr
	Remote   net.Addr // the conn's RemoteAddr
	Read     int64    // bytes the application read (above every transform)
	Written  int64    // bytes the application wrote
	Duration time.Duration
}

// The reasons FailureReason returns.
const (
	ReasonTimeout      = "timeout"      // a deadline ran out
	ReasonCanceled     = "canceled"     // the ctx was cancelled or the listener closed
	ReasonRefused      = "refused"      // a DialPolicy or AcceptPolicy refused
	ReasonOverLimit    = "over-limit"   // MaxHandshakesPerIP, or shed at MaxHandshakes
	ReasonNetworkKey   = "network-key"  // shs: the peer is on another network or is not shs
	ReasonServerKey    = "server-key"   // shs: the client expected another server key
	ReasonRejected     = "rejected"     // shs: the server hung up after the client authenticated
	ReasonUnauthorized = "unauthorized" // Authorize refused the client
	ReasonBadKey       = "bad-key"      // a key, signature or MAC did not verify
	ReasonEOF          = "eof"          // the peer hung up
	ReasonConnect      = "connect"      // the transport could not connect (refused, unreachable)
	ReasonOther        = "other"
)

// FailureReason classifies a dial or handshake error into one of the
// Reason constants, for counting failures by cause; it returns "" for
// nil.
func FailureReason(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrRefused):
		return ReasonRefused
	case errors.Is(err, ErrOverLimit), errors.Is(err, ErrShed):
		return ReasonOverLimit
	case errors.Is(err, shs.ErrUnauthorized):
		return ReasonUnauthorized
	case errors.Is(err, shs.ErrNetworkKey):
		return ReasonNetworkKey
	case errors.Is(err, shs.ErrServerKey):
		return ReasonServerKey
	case errors.Is(err, shs.ErrRejected):
		return ReasonRejected
	case errors.Is(err, shs.ErrBadSignature), errors.Is(err, shs.ErrBadMAC), errors.Is(err, shs.ErrBadPublicKey), errors.Is(err, shs.ErrLowOrderKey):
		return ReasonBadKey
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.Is(err, context.Canceled), errors.Is(err, net.ErrClosed):
		return ReasonCanceled
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonEOF
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ReasonConnect
	}
	return ReasonOther
}

// alternative describes a candidate for the policy and the trace.
func (c *candidate) alternative() Alternative {
	return Alternative{Index: c.index, Stack: c.name, Addr: withoutSeeds(c.addr), Scope: DestScope(c.transport, c.addr[0]), Key: expectedKey(c.addr)}
}

// withoutSeeds returns a with the invite seed of every shs section left
// out, so that no hook or policy ever sees one.
func withoutSeeds(a msaddr.Address) msaddr.Address {
	out := a
	for i, s := range a {
		if s.Name == shs.Name && len(s.Args) > 1 {
			if &out[0] == &a[0] {
				out = a.Clone()
			}
			out[i].Args = out[i].Args[:1]
		}
	}
	return out
}

// traced wraps c so that closing it reports to t.Closed, if set.
func traced(t *Trace, c *Conn, dialing bool) {
	if t == nil || t.Closed == nil {
		return
	}
	c.conn = &tracedConn{Conn: c.conn, fn: t.Closed, start: time.Now(),
		info: CloseInfo{Dialing: dialing, Stack: c.stack, Local: c.local, Remote: c.remote}}
}

// tracedConn counts the bytes moved over a conn and reports them once,
// when it is closed.
type tracedConn struct {
	net.Conn
	read, written atomic.Int64
	once          sync.Once
	start         time.Time
	info          CloseInfo
	fn            func(CloseInfo)
}

func (c *tracedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *tracedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

func (c *tracedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		info := c.info
		info.Read, info.Written = c.read.Load(), c.written.Load()
		info.Duration = time.Since(c.start)
		c.fn(info)
	})
	return err
}

// NetConn returns the traced conn.
func (c *tracedConn) NetConn() net.Conn { return c.Conn }
