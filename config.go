package multiserver

import (
	"context"
	"crypto/ed25519"

	"github.com/go-multiserver/multiserver/stack"
)

// Scope says from where a listener is meant to be reached; see package
// stack.
type Scope = stack.Scope

// The scopes.
const (
	Device  = stack.Device
	Local   = stack.Local
	Private = stack.Private
	Public  = stack.Public
)

// Config holds what Dialer and ListenConfig share: the identity the shs
// transform uses and the set of transports and transforms. The zero value
// is ready to use.
//
// A Dialer or ListenConfig checks its Config and builds its plugins on
// first use, once; do not modify the Config after that (as with
// tls.Config). A Config that cannot work is reported by the first Dial or
// Listen, before any I/O, with an error wrapping ErrInvalidConfig that
// names the field.
type Config struct {
	// Identity is the long-term ed25519 key of this peer for shs: 64
	// bytes, seed then public key, as ed25519.GenerateKey returns it. If
	// nil, a fresh random key is made on first use and kept: every Dial of
	// one Dialer, and every stack of every Listener of one ListenConfig,
	// uses that one key.
	Identity ed25519.PrivateKey

	// AppKey is the 32-byte shs network key; nil means the Scuttlebutt main
	// network key.
	AppKey []byte

	// Authorize, if not nil, decides on the listening side whether an shs
	// client that proved its key may connect; what it returns is the conn's
	// Auth value. A nil Authorize admits every client that knows the
	// server's key and the app key.
	Authorize func(ctx context.Context, remote ed25519.PublicKey) (any, error)

	// MaxFrameSize is the largest shs box-stream body accepted from a
	// peer, 1 to 65535; zero means shs.DefaultMaxFrameSize (65535, what the
	// JavaScript implementation accepts). Senders never write more than
	// 4096; set 4096 to refuse anything larger.
	MaxFrameSize int

	// Trace, if not nil, is told what Dial and the Listener do; see
	// Trace.
	Trace *Trace

	// ConnSet, if not nil, is offered every conn that finished its
	// handshake and keeps at most one per remote key; see ConnSet.
	ConnSet *ConnSet

	// Transports adds transports, replacing a built-in transport of the
	// same name. Two with one name, or one named like a transform, is a
	// configuration error.
	Transports []stack.Transport

	// Transforms adds transforms, replacing a built-in transform of the
	// same name. Two with one name, or one named like a transport, is a
	// configuration error.
	Transforms []stack.Transform
}
