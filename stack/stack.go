// Package stack defines the roles that make up a multiserver stack: a
// Transport that carries bytes (net, ws, unix, serial, ...) and the
// Transforms layered on top of it (shs, noauth, ...).
//
// Built-in plugins implement these interfaces exactly as a user's own
// plugin would; the root multiserver package composes them. This package is
// a leaf: it imports only the standard library, msaddr and a test hook, so
// plugins can depend on it without cycles. It exports no variable but its
// sentinel errors.
package stack

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"

	"github.com/go-multiserver/multiserver/msaddr"
)

// Errors shared by plugins. Plugins wrap them with %w and add what and where.
var (
	// ErrAddress reports a section a plugin does not accept (wrong arguments,
	// bad key, bad port). msaddr.ErrSyntax reports a malformed string.
	ErrAddress = errors.New("multiserver: invalid address section")
	// ErrNotSupported reports an operation a plugin does not offer, such as
	// listening on onion.
	ErrNotSupported = errors.New("multiserver: not supported")
	// ErrScope reports a listen request that does not fit its scopes.
	ErrScope = errors.New("multiserver: scope")
)

// A Transport carries bytes between two peers: TCP, WebSocket, a unix
// socket, a serial line.
//
// Implementations must be safe for concurrent use.
type Transport interface {
	// Name is the section name this transport handles, e.g. "net".
	Name() string

	// Parse checks a dial section and returns it parsed, as an Endpoint
	// of the transport's own type whose Section is the canonical form
	// (the form the transport itself writes). It never does I/O. Errors
	// wrap ErrAddress or msaddr.ErrSyntax.
	Parse(s msaddr.Section) (Endpoint, error)

	// Dial connects to the peer named by ep, an Endpoint that this
	// transport's Parse returned; any other is an error wrapping
	// ErrAddress. It must return promptly when ctx is done.
	Dial(ctx context.Context, ep Endpoint) (net.Conn, error)

	// Listen binds what the listen section s names. Listen sections have
	// a grammar of their own (port 0, no host) and are parsed here, once
	// per listener, not by Parse. The scopes say where the listener will
	// be advertised; with no explicit host a transport binds what fits
	// them, and never all interfaces unless s asks for it (0.0.0.0, ::).
	Listen(ctx context.Context, s msaddr.Section, scopes []Scope) (Listener, error)

	// Section formats a local or remote net.Addr of a conn this transport
	// made (by Dial or Accept) as a section, e.g. "net:192.0.2.1:50122".
	// ok is false if a is not one of this transport's addresses.
	Section(a net.Addr) (s msaddr.Section, ok bool)
}

// An Endpoint is a dial section as parsed by the plugin that owns it: a
// Transport's or a Transform's Parse returns one and its Dial or Client
// takes it, so no section is parsed twice (as wireguard-go's conn.Bind
// does with ParseEndpoint and Send). Its contents are the plugin's own;
// the multiserver layer sees only Section, for policy, tracing and
// addresses.
type Endpoint interface {
	// Section returns the endpoint in canonical form: Parse(Section())
	// gives an equal endpoint. It may hold secrets (an shs invite seed);
	// print it with msaddr's redaction, as the multiserver layer does.
	Section() msaddr.Section
}

// A Listener is a transport's listener. Accept returns raw transport conns;
// the multiserver layer runs the transforms on them.
type Listener interface {
	net.Listener

	// Advertise returns the sections under which this listener can be
	// reached from the given scope, one per host (an unspecified bind
	// address expands to the interface addresses fitting the scope). It
	// returns nil if the listener is not reachable from that scope.
	Advertise(scope Scope) []msaddr.Section
}

// A Transform upgrades a transport conn: it authenticates the peer and
// usually encrypts the stream (shs), or just marks a trusted local link
// (noauth).
//
// Implementations must be safe for concurrent use.
type Transform interface {
	// Name is the section name this transform handles, e.g. "shs".
	Name() string

	// Parse checks a dial section (e.g. "shs:<key>") and returns it parsed,
	// as an Endpoint of the transform's own type whose Section is the
	// canonical form. It never does I/O. Errors wrap ErrAddress or
	// msaddr.ErrSyntax.
	Parse(s msaddr.Section) (Endpoint, error)

	// Client runs the dialing side over conn for ep, an Endpoint that this
	// transform's Parse returned; any other is an error wrapping
	// ErrAddress. On error the caller closes conn. ctx bounds the
	// handshake only.
	Client(ctx context.Context, conn net.Conn, ep Endpoint) (net.Conn, error)

	// Listen prepares the accepting side for the listen section s (e.g.
	// "shs", without a key) on top of the transport listener ln. It may
	// refuse, for example noauth on a listener reachable from other hosts.
	Listen(s msaddr.Section, ln Listener) (ServerTransform, error)
}

// A ServerTransform is the accepting side of a Transform on one listener.
type ServerTransform interface {
	// Advertise returns the section clients need to dial this listener,
	// e.g. "shs:<base64 public key>".
	Advertise() msaddr.Section

	// Server runs the accepting side over conn. On error the caller closes
	// conn. ctx bounds the handshake only.
	Server(ctx context.Context, conn net.Conn) (net.Conn, error)
}

// Peer is implemented by conns that learnt the long-term key of the remote
// peer in their handshake (such as shs).
type Peer interface {
	// RemoteKey returns the remote peer's ed25519 public key.
	RemoteKey() ed25519.PublicKey
	// Auth returns what the server's authorization hook returned for the
	// remote peer; nil on the client side.
	Auth() any
}

// Sectioner is implemented by transform conns that can describe the local
// and remote ends of their layer as address sections (e.g. "shs:<key>").
// The multiserver layer uses it to build LocalAddr and RemoteAddr.
type Sectioner interface {
	LocalSection() msaddr.Section
	RemoteSection() msaddr.Section
}

// Unwrapper is implemented by conns that wrap another conn. NetConn returns
// the wrapped conn, as tls.Conn.NetConn does.
type Unwrapper interface {
	NetConn() net.Conn
}
