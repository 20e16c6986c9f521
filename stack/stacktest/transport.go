package stacktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// ErrRefused is returned by Transport.Dial for a name no listener of the
// transport holds.
var ErrRefused = errors.New("stacktest: connection refused")

// A Transport is an in-memory, addressable stack.Transport: its listeners
// have names, and its Dial connects to the listener of that name through
// net.Pipe. Sections are "<transport name>:<listener name>"; listening on
// "<transport name>" alone picks a fresh name, as port 0 does. It lets
// tests of code that uses multiserver run without sockets:
//
//	mem := stacktest.NewTransport("mem")
//	cfg := multiserver.Config{Transports: []stack.Transport{mem}}
//	// listen on "mem~shs", dial the listener's address
//
// A Transport's listeners are reachable from every scope they were
// listened with (device if none). Conns do not support CloseWrite.
type Transport struct {
	name string

	mu        sync.Mutex
	listeners map[string]*Listener
	next      int
}

var _ stack.Transport = (*Transport)(nil)

// NewTransport returns an empty in-memory transport whose sections are
// called name.
func NewTransport(name string) *Transport {
	return &Transport{name: name, listeners: map[string]*Listener{}}
}

// Name returns the section name given to NewTransport.
func (t *Transport) Name() string { return t.name }

// An endpoint is a parsed dial section: a transport and a listener name.
type endpoint struct{ transport, name string }

// Section returns "<transport>:<listener name>".
func (ep endpoint) Section() msaddr.Section {
	return msaddr.Section{Name: ep.transport, Args: []string{ep.name}}
}

// Parse accepts "<name>:<listener name>".
func (t *Transport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	if s.Name != t.name {
		return nil, fmt.Errorf("%w: %q is not a %s section", stack.ErrAddress, s.Name, t.name)
	}
	if len(s.Args) != 1 || s.Args[0] == "" {
		return nil, fmt.Errorf("%w: %s takes one listener name (%s:NAME), got %d fields", stack.ErrAddress, t.name, t.name, len(s.Args))
	}
	return endpoint{t.name, s.Args[0]}, nil
}

// Dial connects to the listener named by ep, an endpoint from Parse. It
// waits for that listener's Accept until ctx is done or the listener
// closes.
func (t *Transport) Dial(ctx context.Context, ep stack.Endpoint) (net.Conn, error) {
	e, ok := ep.(endpoint)
	if !ok || e.transport != t.name {
		return nil, fmt.Errorf("%w: %s: endpoint %T is not from %s's Parse", stack.ErrAddress, t.name, ep, t.name)
	}
	s := e.Section()
	t.mu.Lock()
	t.next++
	local := &Addr{Transport: t.name, Name: "dialer-" + strconv.Itoa(t.next)}
	l := t.listeners[e.name]
	t.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("%s: dial %s: %w", t.name, s, ErrRefused)
	}
	c1, c2 := net.Pipe()
	client := &conn{Conn: c1, local: local, remote: l.addr}
	server := &conn{Conn: c2, local: l.addr, remote: local}
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		c1.Close()
		c2.Close()
		return nil, fmt.Errorf("%s: dial %s: %w", t.name, s, ErrRefused)
	case <-ctx.Done():
		c1.Close()
		c2.Close()
		return nil, fmt.Errorf("%s: dial %s: %w", t.name, s, ctx.Err())
	}
}

// Listen binds the listener name of s, or a fresh one if s has no
// argument.
func (t *Transport) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	if s.Name != t.name || len(s.Args) > 1 {
		return nil, fmt.Errorf("%w: listen on %s or %s:NAME", stack.ErrAddress, t.name, t.name)
	}
	if len(scopes) == 0 {
		scopes = []stack.Scope{stack.Device}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	name := ""
	if len(s.Args) == 1 {
		name = s.Args[0]
	}
	if name == "" {
		t.next++
		name = "listener-" + strconv.Itoa(t.next)
	}
	if t.listeners[name] != nil {
		return nil, fmt.Errorf("%s: listen %s:%s: name in use", t.name, t.name, name)
	}
	l := &Listener{t: t, addr: &Addr{Transport: t.name, Name: name}, scopes: scopes, conns: make(chan *conn), done: make(chan struct{})}
	t.listeners[name] = l
	return l, nil
}

// Section formats an address of this transport's conns.
func (t *Transport) Section(a net.Addr) (msaddr.Section, bool) {
	ma, ok := a.(*Addr)
	if !ok || ma == nil || ma.Transport != t.name {
		return msaddr.Section{}, false
	}
	return msaddr.Section{Name: t.name, Args: []string{ma.Name}}, true
}

// An Addr is the address of an in-memory listener or dialer.
type Addr struct {
	Transport string // the transport's name
	Name      string
}

// Network returns the transport's name.
func (a *Addr) Network() string { return a.Transport }

// String returns the name.
func (a *Addr) String() string { return a.Name }

// A Listener is a listener of an in-memory Transport.
type Listener struct {
	t      *Transport
	addr   *Addr
	scopes []stack.Scope
	conns  chan *conn
	done   chan struct{}
	once   sync.Once
}

var _ stack.Listener = (*Listener)(nil)

// Accept waits for the next Dial. After Close it returns an error
// wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: l.t.name, Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close frees the listener's name and unblocks Accept.
func (l *Listener) Close() error {
	closed := false
	l.once.Do(func() {
		closed = true
		l.t.mu.Lock()
		delete(l.t.listeners, l.addr.Name)
		l.t.mu.Unlock()
		close(l.done)
	})
	if !closed {
		return &net.OpError{Op: "close", Net: l.t.name, Addr: l.addr, Err: net.ErrClosed}
	}
	return nil
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.addr }

// Advertise returns "<transport>:<name>" for the scopes the listener was
// given.
func (l *Listener) Advertise(scope stack.Scope) []msaddr.Section {
	if !stack.HasScope(l.scopes, scope) {
		return nil
	}
	return []msaddr.Section{{Name: l.t.name, Args: []string{l.addr.Name}}}
}

// conn is one end of a net.Pipe with the transport's addresses.
type conn struct {
	net.Conn
	local, remote *Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }
