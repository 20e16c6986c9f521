package multiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Several stacks on one TCP port. Listen binds the socket once when
// alternatives name the same host and port (net and ws, or ws and wss),
// and a demultiplexer peeks at the first bytes of each conn: an shs client
// hello, recognised exactly by its HMAC under the app key, goes to the
// net stack; an HTTP request to the ws stack; a TLS ClientHello to the
// wss stack. Anything else, and a conn that does not show which it is
// within the peek deadline, is closed without a byte of reply.

// peekSize bounds the bytes read before a conn's stack is chosen: the shs
// hello is 64 bytes, and an HTTP method or TLS record header far fewer.
const peekSize = 64

// httpMethods are the request-line starts taken as HTTP, method and space
// (as libp2p's tcpreuse, which looks at three bytes). With the space, an
// shs hello that arrives in pieces and starts like a request line is
// routed to HTTP with odds of about 2^-32; a whole hello is checked first.
var httpMethods = [][]byte{
	[]byte("GET "), []byte("HEAD "), []byte("POST "), []byte("PUT "), []byte("DELETE "),
	[]byte("CONNECT "), []byte("OPTIONS "), []byte("TRACE "), []byte("PATCH "),
}

// kind is what a shared port's conn turned out to be.
type kind int

const (
	kindUnknown kind = iota // not yet known: read more
	kindHello               // the hello of the net stack's first transform
	kindHTTP
	kindTLS
	kindGarbage // none of them, whatever follows
)

// sharedSocket is one bound TCP socket and the stacks it serves.
type sharedSocket struct {
	network, address string
	ln               net.Listener
	hello, http, tls *chanListener
	recognize        stack.HelloRecognizer // of the hello stack
}

// classify says what p, the first bytes of a conn, are.
func (ss *sharedSocket) classify(p []byte) kind {
	if len(p) >= peekSize && ss.recognize != nil && ss.recognize.RecognizeHello(p[:ss.recognize.HelloSize()]) {
		return kindHello
	}
	for _, m := range httpMethods {
		if bytes.HasPrefix(p, m) {
			return kindHTTP
		}
	}
	if len(p) >= 3 && p[0] == 0x16 && p[1] == 0x03 && p[2] >= 0x01 && p[2] <= 0x03 && len(p) >= peekSize {
		return kindTLS
	}
	if len(p) >= peekSize {
		return kindGarbage
	}
	return kindUnknown
}

// sharedSockets binds the sockets that more than one alternative of m
// names, keyed by alternative index. Alternatives whose transport is not
// a stack.SharedTransport, or whose port is 0, bind their own as usual.
func (l *Listener) sharedSockets(ctx context.Context, st *stackSet, m msaddr.Multi, scopes []Scope) (map[int]*sharedSocket, error) {
	type use struct {
		i       int
		network string
	}
	byAddr := map[string][]use{}
	var order []string
	for i, a := range m {
		t, ok := st.transports[a[0].Name].(stack.SharedTransport)
		if !ok {
			continue
		}
		network, address, err := t.SocketAddr(a[0], scopes)
		if err != nil {
			continue // Listen reports it in order
		}
		if _, port, _ := net.SplitHostPort(address); port == "0" {
			continue
		}
		if byAddr[address] == nil {
			order = append(order, address)
		}
		byAddr[address] = append(byAddr[address], use{i, network})
	}
	out := map[int]*sharedSocket{}
	for _, address := range order {
		uses := byAddr[address]
		if len(uses) < 2 {
			continue
		}
		ss := &sharedSocket{network: uses[0].network, address: address}
		for _, u := range uses {
			a := m[u.i]
			var slot **chanListener
			switch a[0].Name {
			case "ws":
				slot = &ss.http
			case "wss":
				slot = &ss.tls
			default:
				slot = &ss.hello
			}
			if *slot != nil {
				return out, fmt.Errorf("%w: alternatives %s and %s both want %s on port %s, and their first bytes would not tell them apart", ErrInvalidConfig, addrStackName(m[(*slot).alt]), addrStackName(a), a[0].Name, address)
			}
			*slot = newChanListener(u.i)
			out[u.i] = ss
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, ss.network, address)
		if err != nil {
			return out, fmt.Errorf("multiserver: listen on the port %s shared by %d alternatives: %w", address, len(uses), err)
		}
		ss.ln = ln
		for _, c := range []*chanListener{ss.hello, ss.http, ss.tls} {
			if c != nil {
				c.addr = ln.Addr()
			}
		}
	}
	return out, nil
}

// listener returns the chanListener of alternative i.
func (ss *sharedSocket) listener(i int) *chanListener {
	for _, c := range []*chanListener{ss.hello, ss.http, ss.tls} {
		if c != nil && c.alt == i {
			return c
		}
	}
	return nil
}

// demux accepts the conns of ss and hands each to its stack after a peek
// that runs off this loop, holds a handshake slot, and ends by the
// handshake step timeout.
func (l *Listener) demux(ss *sharedSocket) {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		raw, err := ss.ln.Accept()
		if err != nil {
			if l.isClosed() {
				return
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				l.report(fmt.Errorf("multiserver: accept on shared port %s: %w (retrying in %v)", ss.address, err, backoff))
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-l.closed:
					t.Stop()
					return
				}
				continue
			}
			err = fmt.Errorf("multiserver: accept on shared port %s: %w", ss.address, err)
			for _, c := range []*chanListener{ss.hello, ss.http, ss.tls} {
				if c != nil {
					c.fail(err)
				}
			}
			return
		}
		backoff = 0
		// The slot is taken here and kept through the hand-off: the
		// conn's stack (its transport's gate, or the accept loop)
		// finds it under the conn and does not take another.
		g, ok := l.gate(raw, nil, "shared port "+ss.address)
		if !ok {
			return
		}
		l.wg.Add(1)
		go l.peek(ss, g)
	}
}

// peekTimeout bounds the wait for a conn's first bytes, and for its
// stack to take it: HandshakeStepTimeout, or HandshakeTimeout if shorter.
// A negative HandshakeTimeout (no bound on handshakes) leaves the step
// bound: the peek is never unbounded.
func (l *Listener) peekTimeout() time.Duration {
	if l.timeout > 0 {
		return min(l.stepTO, l.timeout)
	}
	return l.stepTO
}

func (l *Listener) peek(ss *sharedSocket, g *gatedConn) {
	defer l.wg.Done()
	raw := g.Conn
	to := l.peekTimeout()
	raw.SetReadDeadline(time.Now().Add(to))
	buf := make([]byte, 0, peekSize)
	k := kindUnknown
	var err error
	for k == kindUnknown && err == nil {
		var n int
		n, err = raw.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		k = ss.classify(buf)
	}
	raw.SetReadDeadline(time.Time{})
	shed := g.sl.ctx.Err() != nil // shed, or the listener closed: the conn is closed
	var dst *chanListener
	switch k {
	case kindHello:
		dst = ss.hello
	case kindHTTP:
		dst = ss.http
	case kindTLS:
		dst = ss.tls
	}
	if shed || dst == nil {
		g.Close()
		if shed || l.isClosed() { // a shed conn was reported by its gate
			return
		}
		var why error
		switch {
		case k == kindUnknown && errors.Is(err, os.ErrDeadlineExceeded):
			why = fmt.Errorf("%w: shared port %s: %v sent %d bytes in %v, not enough to tell its stack (%w)", ErrUnrecognized, ss.address, raw.RemoteAddr(), len(buf), to, err)
		case k == kindUnknown:
			why = fmt.Errorf("%w: shared port %s: %v: %w after %d bytes", ErrUnrecognized, ss.address, raw.RemoteAddr(), err, len(buf))
		default:
			why = fmt.Errorf("%w: shared port %s: %v: its first bytes are %s", ErrUnrecognized, ss.address, raw.RemoteAddr(), ss.expected())
		}
		l.report(why)
		return
	}
	dst.hand(&peekedConn{Conn: g, buf: buf}, l.closed, to)
}

// expected describes what the port does not recognise, for errors.
func (ss *sharedSocket) expected() string {
	s := "not"
	if ss.hello != nil {
		s += " an shs hello under this app key,"
	}
	if ss.http != nil {
		s += " an HTTP request,"
	}
	if ss.tls != nil {
		s += " a TLS ClientHello,"
	}
	return s[:len(s)-1]
}

// peekedConn is a conn whose first bytes were read already.
type peekedConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (c *peekedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// CloseWrite half-closes the TCP conn, as shs's CloseWrite expects of
// its transport.
func (c *peekedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// NetConn returns the TCP conn.
func (c *peekedConn) NetConn() net.Conn { return c.Conn }

// chanListener is one stack's view of a shared socket.
type chanListener struct {
	alt   int // the alternative it serves
	addr  net.Addr
	conns chan net.Conn

	once   sync.Once
	done   chan struct{}
	failMu sync.Mutex
	err    error
	failed chan struct{}
}

func newChanListener(alt int) *chanListener {
	return &chanListener{alt: alt, conns: make(chan net.Conn), done: make(chan struct{}), failed: make(chan struct{})}
}

// hand gives c to the stack, or closes it if the stack does not take it
// within timeout (it stopped accepting: backpressure) or closed is closed.
func (cl *chanListener) hand(c net.Conn, closed <-chan struct{}, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case cl.conns <- c:
	case <-cl.done:
		c.Close()
	case <-closed:
		c.Close()
	case <-t.C:
		c.Close()
	}
}

func (cl *chanListener) fail(err error) {
	cl.failMu.Lock()
	defer cl.failMu.Unlock()
	if cl.err == nil {
		cl.err = err
		close(cl.failed)
	}
}

func (cl *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-cl.conns:
		return c, nil
	case <-cl.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: cl.addr, Err: net.ErrClosed}
	case <-cl.failed:
		cl.failMu.Lock()
		defer cl.failMu.Unlock()
		return nil, cl.err
	}
}

// Close stops this stack's view; the socket is closed by the Listener.
func (cl *chanListener) Close() error {
	cl.once.Do(func() { close(cl.done) })
	return nil
}

func (cl *chanListener) Addr() net.Addr { return cl.addr }
