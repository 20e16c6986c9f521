package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

type rawConnKey struct{}

// Listener accepts WebSocket connections. It is an http.Server underneath:
// upgrade requests on any path become Conns returned by Accept, and other
// requests go to Options.Handler. At most Options.MaxPending upgraded
// conns wait for Accept; further upgrade requests are answered with 503
// Service Unavailable until Accept takes some.
type Listener struct {
	t       *Transport
	ln      net.Listener
	srv     *http.Server
	addr    *Addr
	bound   netip.Addr
	port    int
	advHost string // a host name from the listen section, advertised as is
	scopes  []stack.Scope
	origins originPolicy

	accept    chan *Conn
	done      chan struct{}
	serveDone chan struct{}
	serveErr  error
	closeOnce sync.Once
	closeErr  error

	pending chan struct{} // one token per upgraded conn not yet accepted
	phase   *httpPhase    // conns in their HTTP phase; nil without a bound
	errLog  *log.Logger
	mounted *target // the URL of a Handler's listener; nil for a listener with its own port

	mu        sync.Mutex
	closed    bool
	handlers  sync.WaitGroup
	upgrading sync.WaitGroup // handlers inside websocket.Accept
}

var _ stack.Listener = (*Listener)(nil)

func newListener(t *Transport, ln net.Listener, conf *tls.Config, host string, scopes []stack.Scope, origins originPolicy) *Listener {
	ta := ln.Addr().(*net.TCPAddr)
	l := &Listener{
		t:         t,
		ln:        ln,
		addr:      tcpAddr(t.secure, ta),
		bound:     ta.AddrPort().Addr().Unmap(),
		port:      ta.Port,
		scopes:    scopes,
		origins:   origins,
		accept:    make(chan *Conn),
		done:      make(chan struct{}),
		serveDone: make(chan struct{}),
		pending:   make(chan struct{}, t.maxPending()),
	}
	if _, err := netip.ParseAddr(host); err != nil && host != "" {
		l.advHost = host
	}
	errLog := t.errorLog()
	l.errLog = errLog
	sl := ln
	if conf != nil {
		sl = tls.NewListener(ln, conf)
	}
	var connState func(net.Conn, http.ConnState)
	if max := t.opts.MaxHTTPConns; max >= 0 {
		if max == 0 {
			max = DefaultMaxHTTPConns
		}
		l.phase = newHTTPPhase(sl, max)
		sl, connState = l.phase, l.phase.connState
	}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(l.serveHTTP),
		ReadHeaderTimeout: t.readHeaderTimeout(),
		MaxHeaderBytes:    t.maxHeaderBytes(),
		ConnState:         connState,
		IdleTimeout:       time.Minute,
		ErrorLog:          errLog,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, rawConnKey{}, c)
		},
	}
	go func() {
		defer close(l.serveDone)
		if err := l.srv.Serve(sl); !errors.Is(err, http.ErrServerClosed) {
			l.serveErr = err
		}
	}()
	return l
}

// serveHTTP upgrades WebSocket requests and passes others to
// Options.Handler. Only the listener's own http.Server calls it: it needs
// the raw conn that server's ConnContext records. (An http.Handler for
// other servers would be a separate, exported way in.)
func (l *Listener) serveHTTP(w http.ResponseWriter, r *http.Request) {
	raw, ok := r.Context().Value(rawConnKey{}).(net.Conn)
	if !isUpgrade(r) {
		if ok {
			// Not on its way to a handshake: the multiserver listener
			// (if its gate admitted raw) stops counting it.
			stack.LeaveGate(raw)
		}
		if h := l.t.opts.Handler; h != nil {
			h.ServeHTTP(w, r)
			return
		}
		http.Error(w, "this port speaks WebSocket (multiserver)", http.StatusUpgradeRequired)
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		http.Error(w, "listener closed", http.StatusServiceUnavailable)
		return
	}
	l.handlers.Add(1)
	l.upgrading.Add(1)
	l.mu.Unlock()
	defer l.handlers.Done()
	upgraded := false
	defer func() {
		if !upgraded {
			l.upgrading.Done()
		}
	}()
	handedOff := false // upgraded and on its way to Accept

	if ok {
		// The client has sent its request: the upgrade, the hand-off to
		// Accept and the start of the handshake are the server's to do,
		// and a multiserver listener does not shed it meanwhile. A
		// refused request hands the turn back: the kept-alive conn waits
		// for its peer again, and is shed as any other.
		stack.ServerTurn(raw)
		defer func() {
			if !handedOff {
				stack.PeerTurn(raw)
			}
		}()
	}
	var hj *hijackRecorder
	if !ok {
		if l.mounted == nil {
			http.Error(w, "ws: request not from this listener", http.StatusInternalServerError)
			return
		}
		// Mounted on a server of the program's: the conn is the one
		// websocket.Accept hijacks.
		hj = &hijackRecorder{ResponseWriter: w}
		w = hj
	}
	// Backpressure: a net listener leaves clients in the kernel's backlog
	// while the application does not accept; here they would pile up as
	// upgraded conns and goroutines. Refuse beyond MaxPending instead.
	if !l.takePending(r) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "ws: too many connections waiting to be accepted", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-l.pending }()
	if err := l.origins.check(r); err != nil {
		l.errLog.Printf("%s: refused upgrade from %s: %v", l.addr, r.RemoteAddr, err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	// The origin is checked above, by the policy of this listener.
	wc, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	upgraded = true
	l.upgrading.Done()
	if err != nil {
		return // Accept has answered the request
	}
	handedOff = true
	if hj != nil {
		if raw = hj.conn; raw == nil { // not reached: Accept hijacks or fails
			_ = wc.CloseNow()
			return
		}
	}
	remote := tcpAddr(l.t.secure, raw.RemoteAddr())
	if l.t.opts.TrustForwardedFor {
		if ip, ok := forwardedFor(r.Header); ok {
			remote = &Addr{Secure: l.t.secure, Host: hostString(ip)}
		}
	}
	c := newConn(wc, raw, tcpAddr(l.t.secure, raw.LocalAddr()), remote, l.t.connConfig())
	select {
	case l.accept <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// pendingWait is how long an upgrade waits for room among the conns
// waiting for Accept before it is refused with 503. While the multiserver
// listener takes conns as fast as they come (it sheds stalled handshakes
// rather than stop), the queue is full only for moments, and a client is
// better served late than refused; a program that stopped calling Accept
// still refuses every upgrade within this time.
const pendingWait = time.Second

// takePending takes a token of l.pending for r, waiting up to pendingWait.
func (l *Listener) takePending(r *http.Request) bool {
	select {
	case l.pending <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(pendingWait)
	defer t.Stop()
	select {
	case l.pending <- struct{}{}:
		return true
	case <-t.C:
	case <-r.Context().Done():
	case <-l.done:
	}
	return false
}

func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	return false
}

// forwardedFor returns the last address in X-Forwarded-For, the one the
// proxy in front of us added.
func forwardedFor(h http.Header) (netip.Addr, bool) {
	vals := h.Values("X-Forwarded-For")
	if len(vals) == 0 {
		return netip.Addr{}, false
	}
	parts := strings.Split(vals[len(vals)-1], ",")
	ip, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1]))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

func hostString(ip netip.Addr) string {
	if ip.Is6() {
		return "[" + ip.String() + "]"
	}
	return ip.String()
}

// Accept waits for the next WebSocket connection; it returns a *Conn.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: l.addr.Network(), Addr: l.addr, Err: net.ErrClosed}
	case <-l.serveDone:
		err := l.serveErr
		if err == nil {
			err = net.ErrClosed
		}
		return nil, &net.OpError{Op: "accept", Net: l.addr.Network(), Addr: l.addr, Err: err}
	}
}

// Close stops the HTTP server: it closes the port, the conns still in
// their HTTP phase, and the upgraded conns that Accept has not returned
// yet (each within its close timeout, in parallel). Conns already returned
// by Accept belong to the caller and stay open, as with net.TCPListener.
func (l *Listener) Close() error {
	first := false
	l.closeOnce.Do(func() {
		first = true
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.done)
		// net/http sends the 101 before it marks the conn hijacked; a
		// Server.Close in between would cut a conn the client already
		// sees as upgraded, without a close frame. Let upgrades in
		// progress finish (they only write a small response), so each
		// ends either refused (503) or upgraded and then closed with a
		// close frame below, never in between.
		l.upgrading.Wait()
		if l.srv != nil {
			if err := l.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				l.closeErr = fmt.Errorf("%s: close %s: %w", l.addr.Network(), l.addr, err)
			}
			<-l.serveDone
		}
		l.handlers.Wait()
	})
	if !first {
		return &net.OpError{Op: "close", Net: l.addr.Network(), Addr: l.addr, Err: net.ErrClosed}
	}
	return l.closeErr
}

// Addr returns the bound TCP address, a *net.TCPAddr, as the listener of
// crypto/tls does. Advertise gives the ws URLs. A Handler's listener,
// which binds nothing, returns its URL as an *Addr.
func (l *Listener) Addr() net.Addr {
	if l.ln == nil {
		return l.addr
	}
	return l.ln.Addr()
}

// Advertise returns "ws://host[:port]" sections (port left out when it is
// the default) for the scope, or nil if the listener was not started for
// it. A host name given in the listen section is advertised as given; an
// IP is advertised as stack.AdvertiseHosts decides, so 0.0.0.0 and ::
// expand to the interface addresses that fit the scope.
func (l *Listener) Advertise(scope stack.Scope) []msaddr.Section {
	if !stack.HasScope(l.scopes, scope) {
		return nil
	}
	if l.mounted != nil {
		return []msaddr.Section{l.mounted.section()}
	}
	hosts := []string{l.advHost}
	if l.advHost == "" {
		hosts = stack.AdvertiseHosts(l.bound, scope)
	}
	var out []msaddr.Section
	for _, h := range hosts {
		out = append(out, target{secure: l.t.secure, host: h, port: l.port}.section())
	}
	return out
}
