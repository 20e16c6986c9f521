package ws

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// A Handler serves WebSocket upgrades from an http.Server that the program
// runs itself, at whatever path the program mounts it, instead of from a
// port of its own. It is also the transport (ws or wss) of a multiserver
// listener: give it to ListenConfig.Transports and listen on the public
// URL of the mount point,
//
//	h := ws.New(nil).Handler()
//	lc := multiserver.ListenConfig{Config: multiserver.Config{Transports: []stack.Transport{h}}}
//	ln, err := lc.Listen(ctx, "ws://example.com:8080/ssb~shs")
//	mux.Handle("/ssb", h)
//
// and the listener advertises that URL (ws://example.com:8080/ssb~shs:<key>)
// and runs its transforms (shs) on each upgraded conn, with the handshake
// limits and timeouts of ListenConfig, as on a port of its own. Conns wait
// for Accept within Options.MaxPending, and the origin policy of
// Options.OriginPatterns applies. The HTTP phase before the upgrade
// (header size and time, conns not yet upgraded) is the program's
// server's; Bound gives that server the bounds a ws listener's own has.
//
// Listen binds nothing: its section is the URL clients dial, and it needs
// a host. One listener at a time takes the Handler's conns; while none is
// open, upgrades get 503 Service Unavailable. Requests that are not
// upgrades go to Options.Handler, or get 426 Upgrade Required.
//
// A wss Handler (NewSecure(opts).Handler()) is mounted on a server that
// does TLS itself; it needs no certificate. Dial, Parse and Section work as
// those of the Transport it came from.
type Handler struct {
	t *Transport

	mu sync.Mutex
	l  *Listener // the open listener, or nil
}

var (
	_ stack.Transport = (*Handler)(nil)
	_ http.Handler    = (*Handler)(nil)
)

// Handler returns a Handler with t's name and options.
func (t *Transport) Handler() *Handler { return &Handler{t: t} }

// Name returns "ws" or "wss".
func (h *Handler) Name() string { return h.t.Name() }

// Parse is Transport.Parse.
func (h *Handler) Parse(s msaddr.Section) (stack.Endpoint, error) { return h.t.Parse(s) }

// Dial is Transport.Dial.
func (h *Handler) Dial(ctx context.Context, ep stack.Endpoint) (net.Conn, error) {
	return h.t.Dial(ctx, ep)
}

// Section is Transport.Section.
func (h *Handler) Section(a net.Addr) (msaddr.Section, bool) { return h.t.Section(a) }

// Listen returns the listener that takes the conns h upgrades. s is the
// URL clients dial to reach h's mount point, "ws://host[:port][/path]",
// which the listener advertises in each of scopes; it must name a host
// and not port 0. It fails if another listener of h is open.
func (h *Handler) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	tg, err := parseTarget(s, h.t.secure, false)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s on a Handler: %w", h.Name(), s, err)
	}
	origins, err := h.t.newOriginPolicy(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s: %w", h.Name(), s, err)
	}
	if len(scopes) == 0 {
		scopes = []stack.Scope{stack.Device}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.l != nil && !h.l.isClosed() {
		return nil, fmt.Errorf("%s: listen %s: %w: the Handler already feeds the listener of %s", h.Name(), s, ErrHandlerInUse, h.l.mounted.url())
	}
	l := &Listener{
		t:         h.t,
		addr:      &Addr{Secure: h.t.secure, Host: tg.hostPort(false)},
		port:      tg.port,
		scopes:    scopes,
		origins:   origins,
		accept:    make(chan *Conn),
		done:      make(chan struct{}),
		serveDone: make(chan struct{}),
		pending:   make(chan struct{}, h.t.maxPending()),
		errLog:    h.t.errorLog(),
		mounted:   &tg,
	}
	h.l = l
	return l, nil
}

// ServeHTTP upgrades WebSocket requests into conns of h's listener and
// passes other requests to Options.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	l := h.l
	h.mu.Unlock()
	if l == nil && isUpgrade(r) {
		http.Error(w, "ws: no multiserver listener on this path", http.StatusServiceUnavailable)
		return
	}
	if l == nil {
		l = &Listener{t: h.t}
	}
	l.serveHTTP(w, r)
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (t *Transport) errorLog() *log.Logger {
	if t.opts.ErrorLog != nil {
		return t.opts.ErrorLog
	}
	return log.New(io.Discard, "", 0)
}

// hijackRecorder keeps the conn that websocket.Accept hijacks from the
// ResponseWriter of a program's server.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("ws: the server's ResponseWriter %T cannot be hijacked (HTTP/2?)", h.ResponseWriter)
	}
	c, brw, err := hj.Hijack()
	h.conn = c
	return c, brw, err
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Bound gives srv, the program's server that h is mounted on, the bounds
// of a ws listener's own server on its HTTP phase, and returns the
// listener to pass to srv.Serve in place of ln:
//
//	srv := &http.Server{Handler: mux}
//	srv.Serve(h.Bound(srv, ln))
//
// srv.ReadHeaderTimeout and srv.MaxHeaderBytes, when zero, become
// Options.ReadHeaderTimeout and Options.MaxHeaderBytes (or their
// defaults); and at most Options.MaxHTTPConns conns of srv are in their
// HTTP phase at once: at the bound, the one that has waited longest for
// the end of its request headers, or idled longest between requests, is
// closed for the new one, as on a ws listener's port. This applies to
// every conn of srv, not only those for h's path. srv.ConnState, if set,
// is still called. Call Bound before srv serves, once per srv.
func (h *Handler) Bound(srv *http.Server, ln net.Listener) net.Listener {
	if srv.ReadHeaderTimeout == 0 {
		srv.ReadHeaderTimeout = h.t.readHeaderTimeout()
	}
	if srv.MaxHeaderBytes == 0 {
		srv.MaxHeaderBytes = h.t.maxHeaderBytes()
	}
	max := h.t.opts.MaxHTTPConns
	if max < 0 {
		return ln
	}
	if max == 0 {
		max = DefaultMaxHTTPConns
	}
	phase := newHTTPPhase(ln, max)
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		phase.connState(c, s)
		if prev != nil {
			prev(c, s)
		}
	}
	return phase
}
