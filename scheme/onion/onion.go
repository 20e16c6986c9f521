package onion

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Name is the section name of this transport.
const Name = "onion"

// DefaultProxies are tried in order when Options.Proxies is empty: the tor
// daemon, then Tor Browser.
var DefaultProxies = []string{"127.0.0.1:9050", "127.0.0.1:9150"}

// DefaultGreetingTimeout bounds the SOCKS5 method negotiation with one
// proxy when Options.GreetingTimeout is zero. A local tor answers it at
// once; a proxy that does not is skipped for the next one.
const DefaultGreetingTimeout = 10 * time.Second

// DefaultConnectTimeout bounds the CONNECT with one proxy when
// Options.ConnectTimeout is zero: tor's own SocksTimeout, after which tor
// gives up on a request waiting for a circuit. A proxy that has not
// answered by then never will.
const DefaultConnectTimeout = 2 * time.Minute

// Options configure the transport. The zero value is ready to use.
type Options struct {
	// Proxies lists the SOCKS5 proxies (host:port) to try in order. Nil
	// means DefaultProxies.
	Proxies []string

	// Auth, if not nil, is sent as SOCKS5 user name and password. Tor
	// puts streams with different credentials on different circuits
	// (IsolateSOCKSAuth), so a per-peer Auth isolates peers.
	Auth *proxy.Auth

	// Forward reaches the proxies; nil means a net.Dialer.
	Forward proxy.ContextDialer

	// GreetingTimeout bounds the method negotiation with each proxy;
	// zero means DefaultGreetingTimeout.
	GreetingTimeout time.Duration

	// ConnectTimeout bounds the CONNECT request with each proxy, from
	// the request to the reply, whatever the Dial context; zero means
	// DefaultConnectTimeout. It is long because tor answers only once it
	// has built a circuit to the onion service.
	ConnectTimeout time.Duration
}

// Transport is the "onion" transport. Create it with New.
type Transport struct {
	opts Options
}

var _ stack.Transport = (*Transport)(nil)

// New returns an "onion" transport; opts may be nil. It is copied.
func New(opts *Options) *Transport {
	t := &Transport{}
	if opts != nil {
		t.opts = *opts
		t.opts.Proxies = append([]string(nil), opts.Proxies...)
	}
	if len(t.opts.Proxies) == 0 {
		t.opts.Proxies = append([]string(nil), DefaultProxies...)
	}
	if t.opts.Forward == nil {
		t.opts.Forward = &net.Dialer{}
	}
	if t.opts.GreetingTimeout <= 0 {
		t.opts.GreetingTimeout = DefaultGreetingTimeout
	}
	if t.opts.ConnectTimeout <= 0 {
		t.opts.ConnectTimeout = DefaultConnectTimeout
	}
	return t
}

// Name returns "onion".
func (t *Transport) Name() string { return Name }

// Addr is the remote address of an onion conn: the host and port asked of
// the proxy.
type Addr struct {
	Host string
	Port int
}

// Network returns "onion".
func (a *Addr) Network() string { return Name }

// String returns host:port.
func (a *Addr) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

func parse(s msaddr.Section) (Addr, error) {
	if s.Name != Name {
		return Addr{}, fmt.Errorf("%w: %q is not an onion section", stack.ErrAddress, s.Name)
	}
	host, port, err := msaddr.HostPort(s)
	if err != nil {
		return Addr{}, fmt.Errorf("%w: %v", stack.ErrAddress, err)
	}
	if host == "" {
		return Addr{}, fmt.Errorf("%w: onion: no host in %q", stack.ErrAddress, s.String())
	}
	if port == 0 {
		return Addr{}, fmt.Errorf("%w: onion: cannot dial port 0", stack.ErrAddress)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return Addr{}, fmt.Errorf("%w: onion: a proxy cannot reach the zoned address %q", stack.ErrAddress, host)
		}
		return Addr{Host: ip.Unmap().String(), Port: port}, nil
	}
	if len(host) > 255 {
		return Addr{}, fmt.Errorf("%w: onion: host name longer than 255 bytes", stack.ErrAddress)
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			continue
		}
		return Addr{}, fmt.Errorf("%w: onion: host name %q has the invalid character %q", stack.ErrAddress, host, c)
	}
	return Addr{Host: strings.ToLower(host), Port: port}, nil
}

// An endpoint is a parsed onion dial section.
type endpoint struct{ a Addr }

// Section returns the endpoint as a canonical onion section.
func (ep endpoint) Section() msaddr.Section {
	return msaddr.HostPortSection(Name, ep.a.Host, ep.a.Port)
}

// Parse checks an onion section and returns its endpoint, whose Section is
// the canonical form: the host lowercased, an IPv6 host unbracketed.
func (t *Transport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	a, err := parse(s)
	if err != nil {
		return nil, err
	}
	return endpoint{a}, nil
}

// Listen refuses: an onion service is served by tor, which forwards it to
// a net listener (HiddenServicePort).
func (t *Transport) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	return nil, fmt.Errorf("%w: onion cannot listen; serve a net listener and forward tor's HiddenServicePort to it", stack.ErrNotSupported)
}

// Section formats the RemoteAddr of a conn made by Dial as
// onion:HOST:PORT. Local addresses are TCP addresses of the link to the
// proxy and are not onion sections.
func (t *Transport) Section(a net.Addr) (msaddr.Section, bool) {
	oa, ok := a.(*Addr)
	if !ok || oa == nil {
		return msaddr.Section{}, false
	}
	return msaddr.HostPortSection(Name, oa.Host, oa.Port), true
}
