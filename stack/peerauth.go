package stack

import "context"

// A PeerAuthenticator is a Transform whose accepting side admits only
// peers that proved a long-term key in a handshake, as shs does, so that
// nothing about a conn that reaches the application rests on where the
// conn came from. Transforms that authenticate nothing (noauth) do not
// implement it, or return false.
type PeerAuthenticator interface {
	AuthenticatesPeer() bool
}

type peerAuthKey struct{}

// WithPeerAuthentication returns a copy of ctx for Transport.Listen
// saying that every conn of the listener passes a PeerAuthenticator
// before it reaches the application. The multiserver listener sets it
// for stacks such as ws~shs. A transport may then relax checks that only
// protect unauthenticated services: the ws transport accepts WebSocket
// upgrades from pages of any origin (see package scheme/ws).
func WithPeerAuthentication(ctx context.Context) context.Context {
	return context.WithValue(ctx, peerAuthKey{}, true)
}

// PeerAuthentication reports whether ctx was made by
// WithPeerAuthentication.
func PeerAuthentication(ctx context.Context) bool {
	v, _ := ctx.Value(peerAuthKey{}).(bool)
	return v
}
