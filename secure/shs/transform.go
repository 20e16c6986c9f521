package shs

import (
	"context"
	"fmt"
	"net"

	"golang.org/x/crypto/nacl/auth"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Name is the address section name of the transform: "shs".
const Name = "shs"

// A Transform is the multiserver "shs" transform (stack.Transform). Dial
// sections are "shs:<server key>" or "shs:<server key>:<seed>"; a listen
// section is just "shs" and the listener advertises "shs:<its key>".
type Transform struct {
	base *Config
}

var _ stack.Transform = (*Transform)(nil)

// NewTransform returns the "shs" transform configured by cfg (nil means
// the zero Config): Identity, AppKey, Authorize, HandshakeTimeout and
// MaxFrameSize are used; ServerKey and Seed come from each dial section.
// cfg is copied. With a nil Identity the transform generates one fresh
// identity, used by every listener and every dial it makes.
//
// It checks the configuration and prepares the identity once, so that no
// handshake repeats the work: an AppKey that is not 32 bytes, a
// MaxFrameSize out of range or an Identity whose halves do not belong
// together is an error wrapping ErrInvalidConfig that names the field.
func NewTransform(cfg *Config) (*Transform, error) {
	base := &Config{}
	if cfg != nil {
		base = &Config{
			Identity:         cfg.Identity,
			AppKey:           cfg.AppKey,
			Authorize:        cfg.Authorize,
			HandshakeTimeout: cfg.HandshakeTimeout,
			MaxFrameSize:     cfg.MaxFrameSize,
		}
	}
	if _, err := base.appKey(); err != nil {
		return nil, err
	}
	if _, err := base.maxBody(); err != nil {
		return nil, err
	}
	if _, err := base.longTerm(); err != nil {
		return nil, fmt.Errorf("%w: Identity: %w", ErrInvalidConfig, err)
	}
	return &Transform{base: base}, nil
}

// Name returns "shs".
func (t *Transform) Name() string { return Name }

// Parse checks "shs:KEY" or "shs:KEY:SEED" (base64, standard or URL-safe,
// padding optional; see ParseKey) and returns it with canonical padded
// base64. The server key must be a valid ed25519 public key. Errors wrap
// stack.ErrAddress and ErrBadKey.
//
// The stack.Endpoint returned holds the decoded key and seed, which Client
// takes; its Section is the canonical form. Printed with %v or %s it shows
// the section with the seed redacted.
func (t *Transform) Parse(s msaddr.Section) (stack.Endpoint, error) {
	key, seed, err := parseSection(s)
	if err != nil {
		return nil, err
	}
	return &endpoint{key: key, seed: seed}, nil
}

// An endpoint is a parsed shs dial section: the server's key and an
// optional invite seed.
type endpoint struct {
	key  []byte
	seed []byte // secret
}

// Section returns "shs:KEY" or "shs:KEY:SEED", padded base64.
func (ep *endpoint) Section() msaddr.Section {
	out := msaddr.Section{Name: Name, Args: []string{EncodeKey(ep.key)}}
	if ep.seed != nil {
		out.Args = append(out.Args, EncodeKey(ep.seed))
	}
	return out
}

// String returns the section with the seed redacted.
func (ep *endpoint) String() string { return ep.Section().Redacted().String() }

// GoString is String, so that %#v does not print the seed either.
func (ep *endpoint) GoString() string { return ep.String() }

func parseSection(s msaddr.Section) (key, seed []byte, err error) {
	if s.Name != Name {
		return nil, nil, fmt.Errorf("%w: %q is not an shs section", stack.ErrAddress, s.Name)
	}
	if len(s.Args) != 1 && len(s.Args) != 2 {
		return nil, nil, fmt.Errorf("%w: shs takes a key and an optional seed (shs:KEY or shs:KEY:SEED), got %d fields", stack.ErrAddress, len(s.Args))
	}
	pub, err := ParseID(s.Args[0])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: shs server key: %w", stack.ErrAddress, err)
	}
	if len(s.Args) == 2 {
		seed, err = ParseKey(s.Args[1])
		if err != nil {
			return nil, nil, fmt.Errorf("%w: shs seed: %w", stack.ErrAddress, err)
		}
	}
	return pub, seed, nil
}

// Client runs the client handshake over conn with the server key (and
// seed) of e, an endpoint from Parse, bounded by ctx and
// Config.HandshakeTimeout, and returns the *Conn.
func (t *Transform) Client(ctx context.Context, conn net.Conn, e stack.Endpoint) (net.Conn, error) {
	ep, ok := e.(*endpoint)
	if !ok || ep == nil {
		return nil, fmt.Errorf("%w: shs: endpoint %T is not from shs's Parse", stack.ErrAddress, e)
	}
	cfg := t.base.Clone()
	cfg.ServerKey, cfg.Seed = ep.key, ep.seed
	c := Client(conn, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Listen accepts the section "shs" (no arguments) and returns the server
// side for ln, which advertises "shs:<base64 public key>".
func (t *Transform) Listen(s msaddr.Section, ln stack.Listener) (stack.ServerTransform, error) {
	if s.Name != Name {
		return nil, fmt.Errorf("%w: %q is not an shs section", stack.ErrAddress, s.Name)
	}
	if len(s.Args) != 0 {
		return nil, fmt.Errorf("%w: a listening shs section takes no arguments (the key is the configured identity)", stack.ErrAddress)
	}
	cfg := t.base.Clone()
	pub, err := cfg.PublicKey()
	if err != nil {
		return nil, err
	}
	appKey, err := cfg.appKey()
	if err != nil {
		return nil, err
	}
	return &serverTransform{cfg: cfg, adv: keySection(pub), appKey: *appKey}, nil
}

type serverTransform struct {
	cfg    *Config
	adv    msaddr.Section
	appKey [32]byte
}

var _ stack.HelloRecognizer = (*serverTransform)(nil)

// HelloSize is the size of the client hello: hmac(K, a_pk) || a_pk.
func (st *serverTransform) HelloSize() int { return 64 }

// RecognizeHello reports whether p is a client hello under this
// listener's app key: its first 32 bytes are the HMAC of the last 32. A
// client of another network (another app key), or anything that is not
// shs, fails, except with odds of 2^-256.
func (st *serverTransform) RecognizeHello(p []byte) bool {
	return len(p) == 64 && auth.Verify(p[:32], p[32:], &st.appKey)
}

func (st *serverTransform) Advertise() msaddr.Section { return st.adv }

func (st *serverTransform) Server(ctx context.Context, conn net.Conn) (net.Conn, error) {
	c := Server(conn, st.cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return c, nil
}
