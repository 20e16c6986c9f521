package shs

import (
	"errors"
	"fmt"
	"io"

	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
)

// Errors returned by this package. Handshake failures close the underlying
// connection; box-stream failures (except timeouts) are sticky. Use
// errors.Is to test for them: the returned errors may wrap them with more
// context. No error message contains key material.
var (
	// ErrInvalidConfig reports a Config that cannot be used: an app key,
	// seed or identity of the wrong length, or a client without ServerKey.
	ErrInvalidConfig = errors.New("shs: invalid config")

	// ErrNetworkKey reports a hello (msg1 or msg2) whose HMAC does not
	// verify under our app key: the peer is on another network or does not
	// speak shs.
	ErrNetworkKey = shake.ErrNetworkKey

	// ErrLowOrderKey reports a peer ephemeral key of low order (X25519
	// gives the all-zero shared secret).
	ErrLowOrderKey = shake.ErrLowOrderKey

	// ErrBadPublicKey reports a long-term Ed25519 public key that libsodium
	// would refuse: not a canonical encoding, of small order (such as the
	// identity point 01 00..00), or outside the prime-order subgroup. It is
	// returned for a bad Config.ServerKey before anything is sent, and by
	// the server for a client key in msg3.
	ErrBadPublicKey = shake.ErrBadPublicKey

	// ErrBadPrivateKey reports a Config.Identity whose two halves do not
	// belong together or whose length is wrong.
	ErrBadPrivateKey = shake.ErrBadPrivateKey

	// ErrServerKey is returned by a server when the client authentication
	// (msg3) does not open: the client dialed a different server key.
	ErrServerKey = shake.ErrServerKey

	// ErrRejected is returned by a client when the server hangs up after
	// the client authentication: the client used the wrong server key or
	// the server refused it. It wraps io.ErrUnexpectedEOF.
	ErrRejected = shake.ErrRejected

	// ErrBadSignature reports a handshake signature that does not verify,
	// including signatures with a small-order R that Go's ed25519.Verify
	// would accept.
	ErrBadSignature = shake.ErrBadSignature

	// ErrBadMAC reports a box-stream header or body, or the server accept
	// (msg4), whose authenticator does not verify: tampering, reordering,
	// or a wrong key.
	ErrBadMAC = shake.ErrBadMAC

	// ErrUnauthorized is returned by a server whose Config.Authorize
	// refused the client; it wraps the error Authorize returned. The
	// client sees ErrRejected.
	ErrUnauthorized = shake.ErrUnauthorized

	// ErrFrameTooLarge reports a received box-stream packet longer than
	// Config.MaxFrameSize.
	ErrFrameTooLarge = errors.New("shs: box-stream packet larger than the configured maximum")

	// ErrNoGoodbye reports a box stream that ended without its goodbye
	// packet (a truncated stream). It wraps io.ErrUnexpectedEOF.
	ErrNoGoodbye = fmt.Errorf("shs: stream ended without goodbye: %w", io.ErrUnexpectedEOF)

	// ErrPeerClosed reports a peer that closed its end, at a packet
	// boundary and without a goodbye, after this side had sent its own
	// goodbye: what a Scuttlebutt server (ssb-server 16) does at the end of
	// every connection. Everything this side wrote was sent and every
	// packet that arrived was whole, but only the peer's application knows
	// whether it had said all it meant to: a caller that needs a clean end
	// must treat it as truncation. Errors wrapping it also wrap
	// ErrNoGoodbye (and io.ErrUnexpectedEOF).
	ErrPeerClosed = errors.New("shs: peer closed without goodbye after ours")

	// ErrWriteClosed is returned by Write after CloseWrite.
	ErrWriteClosed = errors.New("shs: write side closed")

	// ErrBadKey reports a key, id or secret file that cannot be parsed.
	ErrBadKey = errors.New("shs: invalid key")
)
