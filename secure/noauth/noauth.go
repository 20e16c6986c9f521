// Package noauth is the multiserver "noauth" transform: it passes the
// transport conn through unchanged, with no authentication and no
// encryption.
//
// It is meant for links only this machine can reach: unix sockets and
// loopback TCP. Listen therefore refuses a transport listener that is
// reachable from other hosts (any IP bind but loopback, or one that
// advertises a local or public address) unless Options.AllowRemote is set,
// and on unix sockets the accepting side admits only peers running under
// this process's user id (SO_PEERCRED / LOCAL_PEERCRED) unless
// Options.AllowAnyUser is set. Where the platform cannot tell the peer's
// user (Windows), such conns are refused unless AllowAnyUser is set.
//
// Unlike JavaScript multiserver, whose noauth parses any section and reports
// the local key as the remote one, this transform accepts only sections
// named "noauth" and reports no remote key.
package noauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/go-multiserver/multiserver/internal/peercred"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Name is the section name of this transform.
const Name = "noauth"

var (
	// ErrRemote is returned by Listen for a listener reachable from other
	// hosts.
	ErrRemote = errors.New("noauth: refusing to serve without authentication on a listener reachable from other hosts")
	// ErrPeerUser is returned by Server for a unix peer of another user.
	ErrPeerUser = errors.New("noauth: unix socket peer runs as another user")
)

// Options configure the transform. The zero value is the safe default.
type Options struct {
	// AllowRemote lets Listen serve noauth on a listener that other hosts
	// can reach. Anyone who can connect then gets an unauthenticated,
	// unencrypted conn.
	AllowRemote bool
	// AllowAnyUser admits unix socket peers of any user id.
	AllowAnyUser bool
}

// Transform is the "noauth" transform. Create it with New.
type Transform struct {
	opts Options
}

var _ stack.Transform = (*Transform)(nil)

// New returns a "noauth" transform; opts may be nil.
func New(opts *Options) *Transform {
	t := &Transform{}
	if opts != nil {
		t.opts = *opts
	}
	return t
}

var section = msaddr.Section{Name: Name}

// Name returns "noauth".
func (t *Transform) Name() string { return Name }

// An endpoint is the parsed section "noauth": it carries nothing.
type endpoint struct{}

// Section returns "noauth".
func (endpoint) Section() msaddr.Section { return section }

// Parse accepts the section "noauth" (arguments, which JavaScript peers
// may write, are dropped).
func (t *Transform) Parse(s msaddr.Section) (stack.Endpoint, error) {
	if s.Name != Name {
		return nil, fmt.Errorf("%w: %q is not a noauth section", stack.ErrAddress, s.Name)
	}
	return endpoint{}, nil
}

// Client returns conn unchanged. ep must come from Parse.
func (t *Transform) Client(ctx context.Context, conn net.Conn, ep stack.Endpoint) (net.Conn, error) {
	if _, ok := ep.(endpoint); !ok {
		return nil, fmt.Errorf("%w: noauth: endpoint %T is not from noauth's Parse", stack.ErrAddress, ep)
	}
	return conn, nil
}

// Listen checks that ln is reachable from this device only.
func (t *Transform) Listen(s msaddr.Section, ln stack.Listener) (stack.ServerTransform, error) {
	if _, err := t.Parse(s); err != nil {
		return nil, err
	}
	if !t.opts.AllowRemote && reachableFromOutside(ln) {
		return nil, fmt.Errorf("%w (bound to %s); bind loopback or a unix socket, or set AllowRemote", ErrRemote, ln.Addr())
	}
	return server{t}, nil
}

func reachableFromOutside(ln stack.Listener) bool {
	var ip net.IP
	switch a := ln.Addr().(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	if ip != nil && !ip.IsLoopback() {
		return true
	}
	for _, sc := range []stack.Scope{stack.Local, stack.Public} {
		if len(ln.Advertise(sc)) > 0 {
			return true
		}
	}
	return false
}

type server struct{ t *Transform }

func (s server) Advertise() msaddr.Section { return section }

// Server admits conn, checking the peer's user id on unix sockets.
func (s server) Server(ctx context.Context, conn net.Conn) (net.Conn, error) {
	if s.t.opts.AllowAnyUser {
		return conn, nil
	}
	uc := unixConn(conn)
	if uc == nil {
		return conn, nil
	}
	uid, err := peercred.UID(uc)
	if err != nil {
		return nil, fmt.Errorf("noauth: cannot tell the unix peer's user: %w", err)
	}
	if uid != os.Getuid() {
		return nil, fmt.Errorf("%w (uid %d)", ErrPeerUser, uid)
	}
	return conn, nil
}

func unixConn(c net.Conn) *net.UnixConn {
	for c != nil {
		if uc, ok := c.(*net.UnixConn); ok {
			return uc
		}
		u, ok := c.(stack.Unwrapper)
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}
