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
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// DefaultMaxPending is the bound on upgraded conns waiting for Accept when
// Options.MaxPending is zero.
const DefaultMaxPending = 128

// Bounds of the HTTP phase of a listener's conns (before the upgrade),
// used when the Options fields are zero.
const (
	// DefaultMaxHeaderBytes bounds the request line and headers of a
	// request. An upgrade request from a browser or a Node or Go peer
	// takes well under 1 KiB; 8 KiB leaves room for cookies. Beyond it the
	// request gets 431 Request Header Fields Too Large.
	DefaultMaxHeaderBytes = 8 << 10
	// DefaultReadHeaderTimeout bounds the time from the start of a
	// request to the end of its headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultMaxHTTPConns bounds the conns in their HTTP phase (accepted,
	// not yet upgraded), as the multiserver listener's
	// DefaultMaxHandshakes bounds handshakes.
	DefaultMaxHTTPConns = 1024
)

// Options configure a ws or wss Transport. The zero value (or nil) is
// useful: it dials with system root CAs, listens with no extra handler,
// pings every 30 s and bounds Close to 1 s. A wss listener needs a
// certificate.
type Options struct {
	// ClientTLSConfig is used to dial wss, e.g. to set RootCAs. Nil means
	// the system roots. ServerName defaults to the host dialed.
	ClientTLSConfig *tls.Config

	// DialContext opens the TCP connection for Dial (for example through
	// a proxy). Nil means a net.Dialer. When set, RemoteAddr of a dialed
	// Conn is the URL's host and port rather than the TCP peer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Handler answers plain HTTP requests (those that are not WebSocket
	// upgrades) on the listener's port, like the JavaScript handler
	// option. Nil answers them with 426 Upgrade Required.
	Handler http.Handler

	// TLSConfig is the server configuration of a wss listener. If nil,
	// CertFile and KeyFile (PEM files) are loaded when Listen runs.
	TLSConfig *tls.Config
	// CertFile and KeyFile name a PEM certificate chain and key for wss.
	CertFile, KeyFile string

	// OriginPatterns says which web pages may open a WebSocket on a
	// listener, by the origin the browser sends with the upgrade request.
	//
	// When it is empty (the default) the listener's stack decides. If
	// every conn passes a transform that authenticates the peer by key
	// (ws~shs; see stack.PeerAuthenticator), pages of any origin are
	// accepted, as JavaScript multiserver's ws plugin accepts them: an
	// origin check protects services that trust where a request comes
	// from (cookies, a loopback address), and shs trusts only keys. Any
	// other stack (ws~noauth, a bare ws) accepts only pages served from
	// the listener's own host and port, because any page the user opens
	// could otherwise reach a service on their loopback.
	//
	// When it is set, it is the whole policy for every stack: a page is
	// accepted if it comes from the listener's own host and port or its
	// origin matches a pattern. A pattern is "host[:port]" (matched
	// against the origin's host and port) or "scheme://host[:port]",
	// with path.Match wildcards, ignoring case: "app.example.com",
	// "*.example.com", "http://127.0.0.1:*", "*" for any origin.
	// Listen refuses a malformed pattern with ErrOriginPattern.
	//
	// Clients that send no Origin header, such as Node and Go peers, are
	// always accepted. A refused page gets 403 Forbidden, and the refusal
	// is logged to ErrorLog.
	OriginPatterns []string

	// TrustForwardedFor makes RemoteAddr of accepted conns the client
	// named by the last X-Forwarded-For entry (added by the proxy in
	// front), without a port. Set it only behind a reverse proxy: anyone
	// can send the header.
	TrustForwardedFor bool

	// KeepAlive is the interval of keepalive pings: a conn that received
	// and sent nothing for that long sends a ping, and is dropped with
	// ErrKeepAlive if no pong and no data arrive within another interval
	// (see Conn for when a slow peer is spared). Zero means
	// DefaultKeepAlive; negative disables pings.
	KeepAlive time.Duration

	// CloseTimeout bounds Conn.Close (flushing queued data plus the close
	// handshake). Zero means DefaultCloseTimeout.
	CloseTimeout time.Duration

	// MaxPending bounds the upgraded conns waiting for Accept; beyond it
	// an upgrade request waits up to a second for room, then gets 503
	// Service Unavailable. Zero means DefaultMaxPending.
	MaxPending int

	// MaxHeaderBytes bounds the request line and headers of each request
	// on a listener; zero means DefaultMaxHeaderBytes. (net/http reads up
	// to 4 KiB beyond it before it refuses a request.)
	MaxHeaderBytes int

	// ReadHeaderTimeout bounds the time a listener waits for the headers
	// of a request; zero means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration

	// MaxHTTPConns bounds the conns of a listener in their HTTP phase:
	// accepted and not yet upgraded, whether silent, sending headers, or
	// kept alive between plain requests to Handler. At the bound, the one
	// that has waited longest for the end of its request headers (or
	// idled longest between requests) is closed to make room, so a flood
	// of slow conns delays a new client by one accept at most. Zero means
	// DefaultMaxHTTPConns; negative means no bound.
	MaxHTTPConns int

	// ErrorLog receives the HTTP server's errors (failed TLS handshakes,
	// malformed requests) and refused origins (ErrOrigin). Nil discards
	// them.
	ErrorLog *log.Logger
}

// Transport is the ws or wss transport. Create it with New or NewSecure.
// It is safe for concurrent use.
type Transport struct {
	secure bool
	opts   Options
}

var _ stack.Transport = (*Transport)(nil)

// New returns the "ws" transport. opts may be nil; it is copied.
func New(opts *Options) *Transport { return newTransport(false, opts) }

// NewSecure returns the "wss" transport (WebSocket over TLS). opts may be
// nil; it is copied. Listening needs a certificate in opts.
func NewSecure(opts *Options) *Transport { return newTransport(true, opts) }

func newTransport(secure bool, opts *Options) *Transport {
	t := &Transport{secure: secure}
	if opts != nil {
		t.opts = *opts
	}
	return t
}

// Name returns "ws" or "wss".
func (t *Transport) Name() string {
	if t.secure {
		return "wss"
	}
	return "ws"
}

// Parse checks a dial section and returns its canonical form
// "ws://host[:port][/path][?query]": the host lowercased, an IPv6 host in
// brackets, the port left out when it is the default (80 for ws, 443 for
// wss), the path kept as given. It accepts the URL form and JavaScript's
// "ws:host:port" (an IPv6 host may be written bare, as in
// "ws:::1:8080"). User information and fragments are refused.
//
// The stack.Endpoint returned has that canonical form as its Section and
// is what Dial takes.
func (t *Transport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	tg, err := parseTarget(s, t.secure, false)
	if err != nil {
		return nil, err
	}
	return tg, nil
}

// endpoint returns the target of e, an endpoint from t's Parse.
func (t *Transport) endpoint(e stack.Endpoint) (target, error) {
	tg, ok := e.(target)
	if !ok || tg.secure != t.secure {
		return target{}, fmt.Errorf("%w: %s: endpoint %T is not from %s's Parse", stack.ErrAddress, t.Name(), e, t.Name())
	}
	return tg, nil
}

// Section formats an *Addr of this transport's conns as a section, e.g.
// "ws://192.0.2.1:50122".
func (t *Transport) Section(a net.Addr) (msaddr.Section, bool) {
	wa, ok := a.(*Addr)
	if !ok || wa == nil || wa.Secure != t.secure {
		return msaddr.Section{}, false
	}
	return sectionFromURL(wa.String()), true
}

func (t *Transport) maxHeaderBytes() int {
	if t.opts.MaxHeaderBytes > 0 {
		return t.opts.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

func (t *Transport) readHeaderTimeout() time.Duration {
	if t.opts.ReadHeaderTimeout > 0 {
		return t.opts.ReadHeaderTimeout
	}
	return DefaultReadHeaderTimeout
}

func (t *Transport) maxPending() int {
	if t.opts.MaxPending > 0 {
		return t.opts.MaxPending
	}
	return DefaultMaxPending
}

func (t *Transport) connConfig() connConfig {
	ka := t.opts.KeepAlive
	if ka == 0 {
		ka = DefaultKeepAlive
	}
	return connConfig{keepAlive: ka, closeTimeout: t.opts.CloseTimeout}
}

// Dial opens a WebSocket connection to the URL of ep, an endpoint from
// Parse. ctx bounds the TCP connection, the TLS handshake and the HTTP
// upgrade; the returned conn lives on after ctx ends. Redirects are not
// followed.
func (t *Transport) Dial(ctx context.Context, ep stack.Endpoint) (net.Conn, error) {
	tg, err := t.endpoint(ep)
	if err != nil {
		return nil, err
	}
	u := tg.url()
	dial := t.opts.DialContext
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	var mu sync.Mutex
	var raw net.Conn
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err == nil {
				mu.Lock()
				raw = c
				mu.Unlock()
			}
			return c, err
		},
		TLSClientConfig:    clientTLS(t.opts.ClientTLSConfig),
		DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	wc, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ws: dial %s: %w", u, errors.Join(ctx.Err(), err))
		}
		return nil, fmt.Errorf("ws: dial %s: %w", u, err)
	}
	mu.Lock()
	c := raw
	mu.Unlock()
	if c == nil {
		_ = wc.CloseNow()
		return nil, fmt.Errorf("ws: dial %s: the HTTP client made no connection of ours", u)
	}
	local := tcpAddr(t.secure, c.LocalAddr())
	remote := tcpAddr(t.secure, c.RemoteAddr())
	if t.opts.DialContext != nil {
		remote = &Addr{Secure: t.secure, Host: net.JoinHostPort(tg.host, strconv.Itoa(tg.port))}
	}
	return newConn(wc, c, local, remote, t.connConfig()), nil
}

func clientTLS(c *tls.Config) *tls.Config {
	if c == nil {
		c = &tls.Config{}
	} else {
		c = c.Clone()
	}
	c.NextProtos = []string{"http/1.1"}
	return c
}

func (t *Transport) serverTLS() (*tls.Config, error) {
	var c *tls.Config
	switch {
	case t.opts.TLSConfig != nil:
		c = t.opts.TLSConfig.Clone()
	case t.opts.CertFile != "" || t.opts.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.opts.CertFile, t.opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("wss: loading certificate %s and key %s: %w", t.opts.CertFile, t.opts.KeyFile, err)
		}
		c = &tls.Config{Certificates: []tls.Certificate{cert}}
	default:
		return nil, ErrNoCertificate
	}
	c.NextProtos = []string{"http/1.1"}
	return c, nil
}

// Listen serves WebSocket upgrades on any path of the host and port in s,
// and plain HTTP requests with Options.Handler. With no host in s
// ("ws", "ws://:8080", "ws::8080") it binds what stack.BindHost picks for
// the scopes: loopback for device, never all interfaces unless s says
// 0.0.0.0 or ::. Without a port, or with port 0, the system picks one; a
// URL without a port means the default port (80, 443). A path in s is
// ignored: JavaScript peers upgrade on any path, and so does this
// listener.
func (t *Transport) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	return t.listen(ctx, s, scopes, nil)
}

var _ stack.SharedTransport = (*Transport)(nil)

// SocketAddr returns the network and address Listen binds for s.
func (t *Transport) SocketAddr(s msaddr.Section, scopes []stack.Scope) (network, address string, err error) {
	tg, err := parseTarget(s, t.secure, true)
	if err != nil {
		return "", "", err
	}
	host := tg.host
	if host == "" {
		if host, err = stack.BindHost(scopes); err != nil {
			return "", "", fmt.Errorf("%s: listen %s: %w", t.Name(), s, err)
		}
	}
	network = "tcp"
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		network = "tcp4"
	}
	return network, net.JoinHostPort(host, strconv.Itoa(tg.port)), nil
}

// ListenOn is Listen on ln, a socket the caller bound for SocketAddr(s,
// scopes) (a port shared with other stacks): it serves HTTP (ws) or TLS
// (wss) on the conns ln returns.
func (t *Transport) ListenOn(ctx context.Context, s msaddr.Section, scopes []stack.Scope, ln net.Listener) (stack.Listener, error) {
	return t.listen(ctx, s, scopes, ln)
}

func (t *Transport) listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope, bound net.Listener) (stack.Listener, error) {
	tg, err := parseTarget(s, t.secure, true)
	if err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []stack.Scope{stack.Device}
	}
	host := tg.host
	if host == "" {
		if host, err = stack.BindHost(scopes); err != nil {
			return nil, fmt.Errorf("%s: listen %s: %w", t.Name(), s, err)
		}
	}
	origins, err := t.newOriginPolicy(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s: %w", t.Name(), s, err)
	}
	var conf *tls.Config
	if t.secure {
		if conf, err = t.serverTLS(); err != nil {
			return nil, fmt.Errorf("wss: listen %s: %w", s, err)
		}
	}
	// "tcp" would make 0.0.0.0 a dual-stack socket on [::]; an IPv4
	// literal means IPv4 only.
	network := "tcp"
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		network = "tcp4"
	}
	ln := bound
	if ln == nil {
		var lc net.ListenConfig
		if ln, err = lc.Listen(ctx, network, net.JoinHostPort(host, strconv.Itoa(tg.port))); err != nil {
			return nil, fmt.Errorf("%s: listen %s: %w", t.Name(), s, err)
		}
	}
	if gate := stack.AcceptGateFrom(ctx); gate != nil {
		// The multiserver listener counts the conns in their HTTP phase
		// against its handshake slots: ln hands them through its gate.
		ln = &gatedListener{Listener: ln, gate: gate, source: !t.opts.TrustForwardedFor}
	}
	return newListener(t, ln, conf, tg.host, scopes, origins), nil
}

// gatedListener passes each conn it accepts through a stack.AcceptGate
// before the HTTP server reads it.
type gatedListener struct {
	net.Listener
	gate   stack.AcceptGate
	source bool // the TCP peer is the source (not a proxy's X-Forwarded-For)
}

func (g *gatedListener) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var src net.Addr
		if g.source {
			src = c.RemoteAddr()
		}
		gc, err := g.gate(c, src)
		if err == nil {
			return gc, nil
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
	}
}
