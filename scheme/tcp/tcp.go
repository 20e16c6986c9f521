// Package tcp is the multiserver "net" transport: TCP over IPv4 and IPv6.
//
// Addresses have the form net:HOST:PORT. The port is the last argument and
// the host is everything before it, so IPv6 hosts are written without
// brackets, as JavaScript multiserver writes them: net:::1:8008,
// net:fe80::1%eth0:8008. Bracketed hosts (net:[::1]:8008) are accepted on
// input; output is always unbracketed so that JavaScript peers can parse it.
//
// A listen section with no host (net::8008, or net:) binds what fits the
// listener's scopes (loopback for device) and never all interfaces; bind
// 0.0.0.0 or :: to ask for all of them. Port 0 picks a free port.
package tcp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Name is the section name of this transport.
const Name = "net"

// Options configure the transport. The zero value is ready to use.
type Options struct {
	// ReusePort sets SO_REUSEPORT (and SO_REUSEADDR) on listening and
	// dialing sockets so that several processes can share a port. Unix only;
	// Listen and Dial fail with stack.ErrNotSupported elsewhere.
	ReusePort bool

	// KeepAlive is the TCP keep-alive period for dialed and accepted
	// conns; zero means the net package default, negative disables it.
	KeepAlive time.Duration

	// External lists host names advertised for the Public scope instead of
	// the bound address (a NAT or a DNS name in front of this machine).
	External []string
}

// Transport is the "net" transport. Create it with New.
type Transport struct {
	opts Options
}

var _ stack.Transport = (*Transport)(nil)

// New returns a "net" transport; opts may be nil.
func New(opts *Options) *Transport {
	t := &Transport{}
	if opts != nil {
		t.opts = *opts
		t.opts.External = append([]string(nil), opts.External...)
	}
	return t
}

// Name returns "net".
func (t *Transport) Name() string { return Name }

// endpoint is a parsed section.
type endpoint struct {
	host string // unbracketed; may hold a zone; "" = unspecified
	port int
}

// Section returns the endpoint as a canonical net section.
func (ep endpoint) Section() msaddr.Section { return msaddr.HostPortSection(Name, ep.host, ep.port) }

func parse(s msaddr.Section) (endpoint, error) {
	if s.Name != Name {
		return endpoint{}, fmt.Errorf("%w: %q is not a net section", stack.ErrAddress, s.Name)
	}
	host, port, err := msaddr.HostPort(s)
	if err != nil {
		return endpoint{}, fmt.Errorf("%w: %v", stack.ErrAddress, err)
	}
	if err := checkHost(host); err != nil {
		return endpoint{}, fmt.Errorf("%w: net: %v", stack.ErrAddress, err)
	}
	return endpoint{host: host, port: port}, nil
}

// checkHost accepts IP literals (IPv6 with an optional zone) and DNS names.
func checkHost(h string) error {
	if h == "" {
		return nil
	}
	if strings.Contains(h, ":") {
		if _, err := netip.ParseAddr(h); err != nil {
			return fmt.Errorf("host %q is neither an IPv6 address nor a name", h)
		}
		return nil
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	if len(h) > 253 {
		return fmt.Errorf("host name longer than 253 bytes")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			continue
		}
		return fmt.Errorf("host name %q has the invalid character %q", h, c)
	}
	return nil
}

// Parse checks a net section and returns its endpoint, whose Section is
// the canonical form (IPv6 unbracketed).
func (t *Transport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	ep, err := parse(s)
	if err != nil {
		return nil, err
	}
	return ep, nil
}

func (t *Transport) dialer() *net.Dialer {
	d := &net.Dialer{KeepAlive: t.opts.KeepAlive}
	if t.opts.ReusePort {
		d.Control = reusePortControl
	}
	return d
}

// Dial connects to the host and port of e, an endpoint from Parse. An
// empty host means localhost, as in JavaScript multiserver.
func (t *Transport) Dial(ctx context.Context, e stack.Endpoint) (net.Conn, error) {
	ep, ok := e.(endpoint)
	if !ok {
		return nil, fmt.Errorf("%w: net: endpoint %T is not from net's Parse", stack.ErrAddress, e)
	}
	if ep.port == 0 {
		return nil, fmt.Errorf("%w: net: cannot dial port 0", stack.ErrAddress)
	}
	if t.opts.ReusePort && !reusePortSupported {
		return nil, fmt.Errorf("%w: net: ReusePort on this platform", stack.ErrNotSupported)
	}
	host := ep.host
	if host == "" {
		host = "localhost"
	}
	return t.dialer().DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(ep.port)))
}

// Listen binds the host and port of s. See the package documentation for
// how an empty host is chosen from the scopes.
func (t *Transport) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	ep, err := parse(s)
	if err != nil {
		return nil, err
	}
	if t.opts.ReusePort && !reusePortSupported {
		return nil, fmt.Errorf("%w: net: ReusePort on this platform", stack.ErrNotSupported)
	}
	host := ep.host
	if host == "" {
		if host, err = stack.BindHost(scopes); err != nil {
			return nil, fmt.Errorf("net: %w", err)
		}
	}
	lc := net.ListenConfig{KeepAlive: t.opts.KeepAlive}
	if t.opts.ReusePort {
		lc.Control = reusePortControl
	}
	ln, err := lc.Listen(ctx, listenNetwork(host), net.JoinHostPort(host, strconv.Itoa(ep.port)))
	if err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []stack.Scope{stack.Device}
	}
	return &listener{Listener: ln, scopes: append([]stack.Scope(nil), scopes...), external: t.opts.External}, nil
}

var _ stack.SharedTransport = (*Transport)(nil)

// SocketAddr returns the network and address Listen binds for s.
func (t *Transport) SocketAddr(s msaddr.Section, scopes []stack.Scope) (network, address string, err error) {
	ep, err := parse(s)
	if err != nil {
		return "", "", err
	}
	host := ep.host
	if host == "" {
		if host, err = stack.BindHost(scopes); err != nil {
			return "", "", fmt.Errorf("net: %w", err)
		}
	}
	return listenNetwork(host), net.JoinHostPort(host, strconv.Itoa(ep.port)), nil
}

// ListenOn serves s on ln, a socket the caller bound for SocketAddr(s,
// scopes) (a port shared with other stacks).
func (t *Transport) ListenOn(ctx context.Context, s msaddr.Section, scopes []stack.Scope, ln net.Listener) (stack.Listener, error) {
	if _, err := parse(s); err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []stack.Scope{stack.Device}
	}
	return &listener{Listener: ln, scopes: append([]stack.Scope(nil), scopes...), external: t.opts.External}, nil
}

// listenNetwork keeps an IPv4 literal IPv4-only: Go would otherwise open
// a dual-stack socket for 0.0.0.0, which then accepts (and advertises) IPv6
// as well. IPv6 literals stay dual-stack, as Node binds "::".
func listenNetwork(host string) string {
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return "tcp4"
	}
	return "tcp"
}

// Section formats a *net.TCPAddr as net:IP:PORT (IPv6 unbracketed, zone
// kept).
func (t *Transport) Section(a net.Addr) (msaddr.Section, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return msaddr.Section{}, false
	}
	ap := ta.AddrPort()
	return msaddr.HostPortSection(Name, ap.Addr().Unmap().String(), int(ap.Port())), true
}

type listener struct {
	net.Listener
	scopes   []stack.Scope
	external []string
}

// Advertise implements stack.Listener.
func (l *listener) Advertise(scope stack.Scope) []msaddr.Section {
	if !stack.HasScope(l.scopes, scope) {
		return nil
	}
	ta := l.Addr().(*net.TCPAddr)
	port := int(ta.AddrPort().Port())
	hosts := l.external
	if scope != stack.Public || len(hosts) == 0 {
		ip, _ := netip.AddrFromSlice(ta.IP)
		hosts = stack.AdvertiseHosts(ip.WithZone(ta.Zone), scope)
	}
	out := make([]msaddr.Section, len(hosts))
	for i, h := range hosts {
		out[i] = msaddr.HostPortSection(Name, h, port)
	}
	return out
}
