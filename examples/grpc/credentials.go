package msgrpc

import (
	"context"
	"crypto/ed25519"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	ms "github.com/go-multiserver/multiserver"
)

// AuthType is the AuthType of an AuthInfo and the SecurityProtocol of the
// credentials' ProtocolInfo.
const AuthType = "multiserver"

// AuthInfo is what gRPC learns about the peer of a multiserver conn.
// Handlers get it from peer.FromContext(ctx).AuthInfo, or use RemoteKey.
type AuthInfo struct {
	// CommonAuthInfo.SecurityLevel is PrivacyAndIntegrity when the stack
	// authenticated a remote key (shs, which also encrypts the stream) and
	// NoSecurity otherwise (noauth).
	credentials.CommonAuthInfo

	// RemoteKey is the ed25519 key the peer proved in the handshake, or
	// nil (noauth). On the client side it is the server's key.
	RemoteKey ed25519.PublicKey

	// Auth is what the listener's Config.Authorize returned for the
	// client; nil on the client side.
	Auth any
}

// AuthType returns "multiserver".
func (AuthInfo) AuthType() string { return AuthType }

// NewCredentials returns gRPC transport credentials for conns made by a
// multiserver Dialer or Listener. They pass the conn through unchanged and
// report its remote key and authorization value as an AuthInfo.
//
// They add no security: that comes from the stack in the address. A
// client dialing net:HOST:PORT~shs:KEY gets a conn only if the server
// proved KEY; a server listening on ~shs accepts only clients that know
// its key (and that Config.Authorize admits).
func NewCredentials() credentials.TransportCredentials { return creds{} }

type creds struct{}

func authInfo(c net.Conn) AuthInfo {
	ai := AuthInfo{RemoteKey: ms.RemoteKey(c), Auth: ms.Auth(c)}
	ai.SecurityLevel = credentials.NoSecurity
	if ai.RemoteKey != nil {
		ai.SecurityLevel = credentials.PrivacyAndIntegrity
	}
	return ai
}

// ClientHandshake reports conn's peer; the dialer ran the handshake.
func (creds) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, authInfo(conn), nil
}

// ServerHandshake reports conn's peer; the listener ran the handshake.
func (creds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, authInfo(conn), nil
}

func (creds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: AuthType}
}

func (c creds) Clone() credentials.TransportCredentials { return c }

// OverrideServerName does nothing: the server is named by its key.
func (creds) OverrideServerName(string) error { return nil }

// RemoteKey returns the caller's key in a gRPC handler's ctx (on a
// client, the server's key in the ctx of an RPC's peer), or nil if the
// conn's stack authenticated none or the credentials were not
// NewCredentials.
func RemoteKey(ctx context.Context) ed25519.PublicKey {
	if p, ok := peer.FromContext(ctx); ok {
		if ai, ok := p.AuthInfo.(AuthInfo); ok {
			return ai.RemoteKey
		}
	}
	return nil
}
