package stack

import (
	"context"
	"net"

	"github.com/go-multiserver/multiserver/msaddr"
)

// A SharedTransport is a TCP-based Transport whose listener can be served
// from a socket that other stacks share (net and ws on one port). The
// multiserver listener binds the socket once, peeks at each conn's first
// bytes to choose its stack, and hands the conn to that stack's listener.
type SharedTransport interface {
	Transport

	// SocketAddr returns the TCP network and address that Listen would
	// bind for s and scopes, such as "tcp4" and "127.0.0.1:8008". Two
	// stacks share a socket when these are equal and the port is not 0.
	SocketAddr(s msaddr.Section, scopes []Scope) (network, address string, err error)

	// ListenOn is Listen on ln, a socket bound for SocketAddr(s, scopes)
	// by the caller, whose Accept returns the conns meant for this
	// stack. Closing the returned listener closes ln.
	ListenOn(ctx context.Context, s msaddr.Section, scopes []Scope, ln net.Listener) (Listener, error)
}

// A HelloRecognizer is a ServerTransform that tells the first message of
// its clients from anything else, exactly, so that its stack can share a
// port: shs recognises its client hello by the HMAC under the app key.
type HelloRecognizer interface {
	// HelloSize is the number of first bytes RecognizeHello needs.
	HelloSize() int
	// RecognizeHello reports whether p, HelloSize bytes, is the first
	// message of a client of this transform.
	RecognizeHello(p []byte) bool
}
