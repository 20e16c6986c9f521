package ws

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Addr is one end of a WebSocket connection, as returned by LocalAddr and
// RemoteAddr of a Conn and by Addr of a Listener.
type Addr struct {
	// Secure is true for wss.
	Secure bool
	// Host is the URL authority: "192.0.2.1:50122", "[::1]:8080", or
	// an IP without a port when the port is unknown (a client named by
	// X-Forwarded-For).
	Host string
}

// Network returns "ws" or "wss".
func (a *Addr) Network() string {
	if a.Secure {
		return "wss"
	}
	return "ws"
}

// String returns the address as a URL, e.g. "ws://192.0.2.1:50122".
func (a *Addr) String() string { return a.Network() + "://" + a.Host }

func tcpAddr(secure bool, a net.Addr) *Addr {
	return &Addr{Secure: secure, Host: a.String()}
}

// target is a parsed ws or wss section.
type target struct {
	secure bool
	host   string // no brackets; an IPv6 zone is kept
	port   int
	path   string // escaped path and query, "" for none
}

func defaultPort(secure bool) int {
	if secure {
		return 443
	}
	return 80
}

func (t target) scheme() string {
	if t.secure {
		return "wss"
	}
	return "ws"
}

// hostPort returns the URL authority, leaving out the default port. A zone
// is written "%25eth0" for Go's URL parser with escapeZone set, and
// "%eth0" otherwise, as JavaScript's url.format writes it.
func (t target) hostPort(escapeZone bool) string {
	h := t.host
	if strings.Contains(h, ":") {
		if escapeZone {
			h = strings.Replace(h, "%", "%25", 1)
		}
		h = "[" + h + "]"
	}
	if t.port == defaultPort(t.secure) {
		return h
	}
	return h + ":" + strconv.Itoa(t.port)
}

// url is the URL to dial.
func (t target) url() string {
	return t.scheme() + "://" + t.hostPort(true) + t.path
}

// section is the canonical section, as JavaScript writes it.
// Section returns the target as a canonical dial section; a target is
// the stack.Endpoint that Transport.Parse returns.
func (t target) Section() msaddr.Section { return t.section() }

func (t target) section() msaddr.Section {
	return sectionFromURL(t.scheme() + "://" + t.hostPort(false) + t.path)
}

// sectionFromURL splits a URL the way msaddr does: the scheme is the name
// and every ':' after it separates arguments.
func sectionFromURL(u string) msaddr.Section {
	name, rest, _ := strings.Cut(u, ":")
	return msaddr.Section{Name: name, Args: strings.Split(rest, ":")}
}

// parseTarget reads a ws or wss section: "ws://host[:port][/path][?query]"
// or the JavaScript form "ws:host:port". With listen set it also accepts
// the section with no arguments and an empty host or port 0, which the
// caller fills in.
func parseTarget(s msaddr.Section, secure, listen bool) (target, error) {
	t := target{secure: secure}
	if s.Name != t.scheme() {
		return t, fmt.Errorf("%w: %s transport given a %q section", stack.ErrAddress, t.scheme(), s.Name)
	}
	if len(s.Args) == 0 {
		if listen {
			return t, nil
		}
		return t, fmt.Errorf("%w: %s: want %s://HOST[:PORT][/PATH] or %s:HOST:PORT", stack.ErrAddress, s.Name, s.Name, s.Name)
	}
	if strings.HasPrefix(s.Args[0], "//") {
		if err := t.parseURL(s.Name + ":" + strings.Join(s.Args, ":")); err != nil {
			return t, err
		}
	} else {
		if last := s.Args[len(s.Args)-1]; strings.ContainsAny(last, "/?#") {
			return t, fmt.Errorf("%w: %s: the form %s:HOST:PORT takes no path; write %s://HOST:PORT/PATH", stack.ErrAddress, s.Name, s.Name, s.Name)
		}
		host, port, err := msaddr.HostPort(s)
		if err != nil {
			return t, fmt.Errorf("%w: %v", stack.ErrAddress, err)
		}
		t.host, t.port = host, port
	}
	if t.host != "" && !validHost(t.host) {
		return t, fmt.Errorf("%w: %s: invalid host %q", stack.ErrAddress, s.Name, t.host)
	}
	t.host = lowerHost(t.host)
	if !listen {
		if t.host == "" {
			return t, fmt.Errorf("%w: %s: no host in %q", stack.ErrAddress, s.Name, s.String())
		}
		if t.port == 0 {
			return t, fmt.Errorf("%w: %s: cannot dial port 0", stack.ErrAddress, s.Name)
		}
	}
	return t, nil
}

func (t *target) parseURL(raw string) error {
	u, err := url.Parse(fixZone(raw))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", stack.ErrAddress, t.scheme(), err)
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s: user information in the URL is not supported", stack.ErrAddress, t.scheme())
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%w: %s: a URL fragment is not allowed", stack.ErrAddress, t.scheme())
	}
	t.host = u.Hostname()
	if strings.HasPrefix(u.Host, "[") != strings.Contains(t.host, ":") {
		return fmt.Errorf("%w: %s: an IPv6 host must be in brackets, others must not: %q", stack.ErrAddress, t.scheme(), u.Host)
	}
	t.port = defaultPort(t.secure)
	if p := u.Port(); p != "" {
		if t.port, err = msaddr.ParsePort(p); err != nil {
			return fmt.Errorf("%w: %s: %v", stack.ErrAddress, t.scheme(), err)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%w: %s: empty port in %q", stack.ErrAddress, t.scheme(), u.Host)
	}
	t.path = u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		t.path += "?" + u.RawQuery
	}
	return nil
}

// fixZone turns the zone separator of a bracketed IPv6 host written as
// JavaScript writes it ("[fe80::1%eth0]") into the escaped form url.Parse
// wants ("[fe80::1%25eth0]").
func fixZone(raw string) string {
	open := strings.Index(raw, "[")
	end := strings.Index(raw, "]")
	if open < 0 || end < open {
		return raw
	}
	pct := strings.Index(raw[open:end], "%")
	if pct < 0 {
		return raw
	}
	pct += open
	if strings.HasPrefix(raw[pct:], "%25") {
		return raw
	}
	return raw[:pct] + "%25" + raw[pct+1:]
}

// validHost accepts IP literals and DNS names (letters, digits, '-', '_',
// '.'). An IPv6 zone must be made of the same characters: netip accepts
// any zone, but a URL cannot carry one with, say, a space in it, and the
// address must survive being written as a URL and parsed back.
func validHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return nameChars(a.Zone())
	}
	return len(h) <= 253 && nameChars(h)
}

func nameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// lowerHost lowercases a host, leaving an IPv6 zone as it is.
func lowerHost(h string) string {
	name, zone, ok := strings.Cut(h, "%")
	if !ok {
		return strings.ToLower(h)
	}
	return strings.ToLower(name) + "%" + zone
}
