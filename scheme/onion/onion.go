package onion

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
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
	// zero means DefaultGreetingTimeout. The CONNECT itself is bounded
	// only by the Dial context, since tor may take long to build a
	// circuit.
	GreetingTimeout time.Duration
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

// Parse checks an onion section and returns it in canonical form: the host
// lowercased, an IPv6 host unbracketed.
func (t *Transport) Parse(s msaddr.Section) (msaddr.Section, error) {
	a, err := parse(s)
	if err != nil {
		return msaddr.Section{}, err
	}
	return msaddr.HostPortSection(Name, a.Host, a.Port), nil
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

// Dial connects to the host and port of s through the first proxy that
// answers. See the package documentation for the fallback rules.
func (t *Transport) Dial(ctx context.Context, s msaddr.Section) (net.Conn, error) {
	target, err := parse(s)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, p := range t.opts.Proxies {
		c, err := t.dialVia(ctx, p, target)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("onion: dial %s: %w", &target, errors.Join(ctx.Err(), errors.Join(errs...)))
		}
		if errors.Is(err, ErrReply) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w for %s: %w", ErrNoProxy, &target, errors.Join(errs...))
}

// dialVia connects to target through the proxy at p.
func (t *Transport) dialVia(ctx context.Context, p string, target Addr) (net.Conn, error) {
	c, err := t.opts.Forward.DialContext(ctx, "tcp", p)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", p, err)
	}
	if err := t.handshake(ctx, c, p, target); err != nil {
		c.Close()
		return nil, err
	}
	return &conn{Conn: c, remote: &Addr{Host: target.Host, Port: target.Port}}, nil
}

// aLongTimeAgo is a deadline in the past, to interrupt I/O.
var aLongTimeAgo = time.Unix(1, 0)

func (t *Transport) handshake(ctx context.Context, c net.Conn, p string, target Addr) (err error) {
	// When ctx ends, a deadline in the past interrupts the I/O; the mutex
	// keeps the handshake's own deadlines from clearing it.
	var mu sync.Mutex
	cancelled := false
	setDeadline := func(d time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if !cancelled {
			c.SetDeadline(d)
		}
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		cancelled = true
		c.SetDeadline(aLongTimeAgo)
	})
	defer func() {
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("proxy %s: %w", p, ctx.Err())
		}
	}()
	setDeadline(time.Now().Add(t.opts.GreetingTimeout))
	if _, err := c.Write(greeting(t.opts.Auth)); err != nil {
		return fmt.Errorf("proxy %s: greeting: %w", p, err)
	}
	method, err := readMethod(c, t.opts.Auth)
	if err != nil {
		return fmt.Errorf("proxy %s: greeting: %w", p, err)
	}
	if method == methodUserPass {
		msg, err := userPass(t.opts.Auth)
		if err != nil {
			return err
		}
		if _, err := c.Write(msg); err != nil {
			return fmt.Errorf("proxy %s: authentication: %w", p, err)
		}
		if err := readUserPassStatus(c); err != nil {
			return fmt.Errorf("proxy %s: authentication: %w", p, err)
		}
	}
	setDeadline(time.Time{})
	if _, err := c.Write(connectRequest(target.Host, target.Port)); err != nil {
		return fmt.Errorf("proxy %s: connect request: %w", p, err)
	}
	code, err := readReply(c)
	if err != nil {
		return fmt.Errorf("proxy %s: reading the reply: %w", p, err)
	}
	if code != 0 {
		return &ReplyError{Proxy: p, Target: target.String(), Code: code}
	}
	return nil
}

// conn is a conn through a proxy; its RemoteAddr is the target.
type conn struct {
	net.Conn
	remote *Addr
}

// RemoteAddr returns the *Addr dialed.
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// NetConn returns the TCP conn to the proxy.
func (c *conn) NetConn() net.Conn { return c.Conn }
