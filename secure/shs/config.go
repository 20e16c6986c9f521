package shs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
)

// MainNetKey is the app key (network identifier) of the main Scuttlebutt
// network, base64 1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=. It is the
// default when Config.AppKey is nil.
var MainNetKey = [32]byte{
	0xd4, 0xa1, 0xcb, 0x88, 0xa6, 0x6f, 0x02, 0xf8, 0xdb, 0x63, 0x5c, 0xe2, 0x64, 0x41, 0xcc, 0x5d,
	0xac, 0x1b, 0x08, 0x42, 0x0c, 0xea, 0xac, 0x23, 0x08, 0x39, 0xb7, 0x55, 0x84, 0x5a, 0x9f, 0xfb,
}

const (
	// DefaultHandshakeTimeout bounds a whole handshake when
	// Config.HandshakeTimeout is zero.
	DefaultHandshakeTimeout = 10 * time.Second

	// MaxPacketSize is the largest box-stream body this package sends;
	// longer writes are split, as the JS implementation does.
	MaxPacketSize = 4096

	// DefaultMaxFrameSize is the largest box-stream body accepted when
	// Config.MaxFrameSize is zero: 65535, the most the 16-bit length field
	// can announce. The JS decrypter accepts any such length, although no
	// known sender exceeds 4096.
	DefaultMaxFrameSize = 65535
)

// A Config configures a client or server. The zero value is usable for a
// server (fresh identity, main network, every client accepted); a client
// needs ServerKey. A Config may be shared by many conns once in use; do not
// modify it afterwards (use Clone).
type Config struct {
	// Identity is the local long-term key. If nil, a fresh key is generated
	// the first time the Config is used and kept for every later use of the
	// same Config (so a listener advertises one key). Clone keeps it.
	Identity ed25519.PrivateKey

	// AppKey is the 32-byte network identifier ("caps.shs"). Nil means
	// MainNetKey. Any other length makes handshakes fail with
	// ErrInvalidConfig.
	AppKey []byte

	// Authorize, on a server, is called with the client's verified
	// long-term key after msg3 and before msg4. A non-nil error refuses
	// the client: the conn is closed without sending msg4 and the
	// handshake fails with ErrUnauthorized wrapping that error. The value
	// returned with a nil error is available from Conn.Auth (it may be
	// nil; unlike the JS auth callback, a nil value does not refuse). A
	// nil Authorize accepts every client that proves it knows the server
	// key and app key.
	Authorize func(ctx context.Context, remote ed25519.PublicKey) (any, error)

	// ServerKey, on a client, is the server's long-term public key.
	// Required for clients.
	ServerKey ed25519.PublicKey

	// Seed, on a client, is an optional 32-byte Ed25519 seed. When set,
	// the client authenticates with the one-time key pair made from it
	// instead of Identity (the `shs:KEY:SEED` form used by invites).
	Seed []byte

	// HandshakeTimeout bounds the whole handshake. Zero means
	// DefaultHandshakeTimeout; a negative value means no timeout beyond
	// the context's.
	HandshakeTimeout time.Duration

	// MaxFrameSize is the largest box-stream body accepted from the peer,
	// 1 to 65535. Zero means DefaultMaxFrameSize. Set MaxPacketSize (4096)
	// to be as strict as go-secretstream.
	MaxFrameSize int

	mu        sync.Mutex
	lt        *shake.LongTerm
	generated bool
}

// Clone returns a copy of c. A key generated for a nil Identity is
// carried over, so the clone has the same identity.
func (c *Config) Clone() *Config {
	if c == nil {
		return &Config{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &Config{
		Identity:         c.Identity,
		AppKey:           c.AppKey,
		Authorize:        c.Authorize,
		ServerKey:        c.ServerKey,
		Seed:             c.Seed,
		HandshakeTimeout: c.HandshakeTimeout,
		MaxFrameSize:     c.MaxFrameSize,
		lt:               c.lt,
	}
	if c.generated && c.Identity == nil {
		n.Identity = c.lt.Private
	}
	return n
}

// PublicKey returns the public half of the identity this Config
// authenticates with, generating the identity first if Identity is nil.
func (c *Config) PublicKey() (ed25519.PublicKey, error) {
	lt, err := c.longTerm()
	if err != nil {
		return nil, err
	}
	return lt.Public, nil
}

// longTerm returns the prepared identity, deriving it once.
func (c *Config) longTerm() (*shake.LongTerm, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Identity == nil {
		if c.lt != nil && c.generated {
			return c.lt, nil
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		lt, err := shake.NewLongTerm(priv)
		if err != nil {
			return nil, err
		}
		c.lt, c.generated = lt, true
		return lt, nil
	}
	if c.lt != nil && bytes.Equal(c.lt.Private, c.Identity) {
		return c.lt, nil
	}
	lt, err := shake.NewLongTerm(c.Identity)
	if err != nil {
		return nil, err
	}
	c.lt, c.generated = lt, false
	return lt, nil
}

func (c *Config) appKey() (*[32]byte, error) {
	if c.AppKey == nil {
		return &MainNetKey, nil
	}
	if len(c.AppKey) != 32 {
		return nil, fmt.Errorf("%w: AppKey must be 32 bytes, got %d", ErrInvalidConfig, len(c.AppKey))
	}
	var k [32]byte
	copy(k[:], c.AppKey)
	return &k, nil
}

func (c *Config) maxBody() (int, error) {
	switch {
	case c.MaxFrameSize == 0:
		return DefaultMaxFrameSize, nil
	case c.MaxFrameSize < 0 || c.MaxFrameSize > 65535:
		return 0, fmt.Errorf("%w: MaxFrameSize %d out of range 1..65535", ErrInvalidConfig, c.MaxFrameSize)
	}
	return c.MaxFrameSize, nil
}

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout == 0 {
		return DefaultHandshakeTimeout
	}
	return c.HandshakeTimeout
}

// clientLongTerm is the identity a client authenticates with: the one-time
// key from Seed, or the Config's identity.
func (c *Config) clientLongTerm() (*shake.LongTerm, error) {
	if c.Seed == nil {
		return c.longTerm()
	}
	if len(c.Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: seed must be 32 bytes, got %d", ErrInvalidConfig, len(c.Seed))
	}
	return shake.NewLongTerm(ed25519.NewKeyFromSeed(c.Seed))
}
