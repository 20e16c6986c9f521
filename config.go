package multiserver

import (
	"context"
	"crypto/ed25519"
	"sort"
	"strings"

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
type Config struct {
	// Identity is the long-term ed25519 key of this peer for shs. If nil, a
	// fresh random key is made for each Dial (dialer side) or for each
	// Listener (listening side).
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
	// peer, 1 to 65535; zero means shs.DefaultMaxBodySize (65535, what the
	// JavaScript implementation accepts). Senders never write more than
	// 4096; set 4096 to refuse anything larger.
	MaxFrameSize int

	// Trace, if not nil, is told what Dial and the Listener do; see
	// Trace.
	Trace *Trace

	// Transports adds transports, replacing a built-in one of the same
	// name.
	Transports []stack.Transport

	// Transforms adds transforms, replacing a built-in one of the same
	// name.
	Transforms []stack.Transform
}

// stacks is the set of plugins one Dial or Listen call uses.
type stacks struct {
	transports map[string]stack.Transport
	transforms map[string]stack.Transform
}

func (c *Config) stacks() *stacks {
	s := &stacks{transports: map[string]stack.Transport{}, transforms: map[string]stack.Transform{}}
	for _, t := range defaultTransports() {
		s.transports[t.Name()] = t
	}
	for _, t := range defaultTransforms(c) {
		s.transforms[t.Name()] = t
	}
	for _, t := range c.Transports {
		s.transports[t.Name()] = t
	}
	for _, t := range c.Transforms {
		s.transforms[t.Name()] = t
	}
	return s
}

// known lists the transports and transforms for error messages.
func (s *stacks) known() string {
	var ts, fs []string
	for n := range s.transports {
		ts = append(ts, n)
	}
	for n := range s.transforms {
		fs = append(fs, n)
	}
	sort.Strings(ts)
	sort.Strings(fs)
	return "transports " + strings.Join(ts, ", ") + "; transforms " + strings.Join(fs, ", ")
}
