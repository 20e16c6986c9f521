package shake

import (
	"errors"
	"fmt"
	"io"
)

// The sentinels are re-exported by package shs, which documents them.
var (
	ErrNetworkKey    = errors.New("shs: peer hello does not match our network key (wrong app key, or not shs)")
	ErrLowOrderKey   = errors.New("shs: peer ephemeral key has low order")
	ErrBadPublicKey  = errors.New("shs: invalid long-term public key (not canonical, small order, or outside the prime-order subgroup)")
	ErrBadPrivateKey = errors.New("shs: invalid long-term private key")
	ErrServerKey     = errors.New("shs: client authentication does not open: the client expects a different server key")
	ErrBadSignature  = errors.New("shs: handshake signature does not verify")
	ErrBadMAC        = errors.New("shs: message authentication failed")
	ErrUnauthorized  = errors.New("shs: client not authorized")
	ErrRejected      = fmt.Errorf("shs: server hung up after client authentication (wrong server key, or not authorized): %w", io.ErrUnexpectedEOF)
)
