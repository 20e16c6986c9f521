package multiserver

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// handshakeError wraps the error of transform name in ErrHandshake,
// naming the stack (if not empty) and the transform, unless the message
// already starts with the transform's name ("shs: ...").
func handshakeError(stack, name string, err error) error {
	where := name + ": "
	if strings.HasPrefix(err.Error(), where) {
		where = ""
	}
	if stack != "" {
		where = stack + ": " + where
	}
	return fmt.Errorf("%w: %s%w", ErrHandshake, where, err)
}

// ipv6SourceBits is the prefix length that makes one IPv6 "source" for
// MaxHandshakesPerIP: a host usually owns a whole /64, so counting single
// IPv6 addresses would not limit anything.
const ipv6SourceBits = 64

// sourceOf returns the source a remote address counts against for
// MaxHandshakesPerIP: the IPv4 address, or the /64 of an IPv6 address.
// ok is false for addresses without an IP (unix sockets, serial lines),
// which no per-source limit applies to.
func sourceOf(a net.Addr) (p netip.Prefix, ok bool) {
	var ip netip.Addr
	switch a := a.(type) {
	case nil:
		return p, false
	case *net.TCPAddr:
		ip, ok = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, ok = netip.AddrFromSlice(a.IP)
	default:
		// Other transports (ws) print host:port, [v6]:port or a bare IP,
		// possibly after a URL scheme.
		s := a.String()
		if i := strings.Index(s, "://"); i >= 0 {
			s = s[i+3:]
		}
		if ap, err := netip.ParseAddrPort(s); err == nil {
			ip, ok = ap.Addr(), true
		} else if ip, err = netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			ok = true
		}
	}
	if !ok || !ip.IsValid() {
		return p, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = ipv6SourceBits
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// sourceLimiter counts handshakes in flight per source.
type sourceLimiter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Prefix]int
}

func newSourceLimiter(max int) *sourceLimiter {
	if max <= 0 {
		return nil
	}
	return &sourceLimiter{max: max, n: make(map[netip.Prefix]int)}
}

// acquire takes a slot for the source of a; it reports false if the
// source has none left. release must be called with the same address iff
// acquire returned true. A nil limiter admits everything.
func (s *sourceLimiter) acquire(a net.Addr) (release func(), ok bool) {
	if s == nil {
		return func() {}, true
	}
	p, ok := sourceOf(a)
	if !ok {
		return func() {}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[p] >= s.max {
		return nil, false
	}
	s.n[p]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.n[p]--; s.n[p] == 0 {
			delete(s.n, p)
		}
	}, true
}
