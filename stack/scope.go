package stack

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/go-multiserver/multiserver/internal/ifaddrs"
)

// A Scope says from where a listener is meant to be reached, and so which
// of its addresses are advertised there.
type Scope string

// The scopes of JavaScript multiserver (multiserver-scopes).
const (
	// Device: this machine only (loopback, unix sockets, serial links).
	Device Scope = "device"
	// Local: the local network (private addresses).
	Local Scope = "local"
	// Private: like Local; kept as a separate name for compatibility.
	Private Scope = "private"
	// Public: the internet (non-private addresses).
	Public Scope = "public"
)

// Scopes returns every known scope, in a new slice.
func Scopes() []Scope { return []Scope{Device, Local, Private, Public} }

// ParseScope parses one of "device", "local", "private", "public".
func ParseScope(s string) (Scope, error) {
	switch sc := Scope(s); sc {
	case Device, Local, Private, Public:
		return sc, nil
	}
	return "", fmt.Errorf("%w: unknown scope %q (want device, local, private or public)", ErrScope, s)
}

// Fits reports whether an IP address is reachable from the scope: loopback
// for Device, private (RFC 1918, RFC 4193, link-local) for Local and
// Private, and every other unicast address for Public.
func (s Scope) Fits(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch s {
	case Device:
		return ip.IsLoopback()
	case Local, Private:
		return !ip.IsLoopback() && IsPrivate(ip)
	case Public:
		return ip.IsGlobalUnicast() && !IsPrivate(ip)
	}
	return false
}

// IsPrivate reports whether ip is private in the sense of the JavaScript
// "ip" package: RFC 1918, 100.64/10 is not included, link-local
// (169.254/16, fe80::/10), unique local (fc00::/7) and loopback.
func IsPrivate(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast()
}

// InterfaceAddrs returns the addresses of this machine's interfaces that
// fit scope, ranked as JavaScript multiserver ranks them (IPv4 before IPv6,
// wireless before wired before tunnels) with zones on link-local IPv6.
func InterfaceAddrs(scope Scope) []netip.Addr {
	if f := ifaddrs.Fake(); f != nil {
		return f(string(scope))
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	type ranked struct {
		ip   netip.Addr
		rank int
		n    int
	}
	var out []ranked
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			pfx, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := pfx.Addr()
			if !scope.Fits(ip) {
				continue
			}
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				ip = ip.WithZone(ifc.Name)
			}
			out = append(out, ranked{ip, ifaceRank(ifc.Name, ip.Is4()), len(out)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rank < out[j].rank })
	ips := make([]netip.Addr, len(out))
	for i, r := range out {
		ips[i] = r.ip
	}
	return ips
}

func ifaceRank(name string, v4 bool) int {
	prefixes := []string{"wl", "en", "eth"}
	for i, p := range prefixes {
		if strings.HasPrefix(name, p) {
			if v4 {
				return i
			}
			return 3 + i
		}
	}
	if strings.HasPrefix(name, "tun") {
		if v4 {
			return 6
		}
		return 7
	}
	return 8
}

// BindHost decides the host a transport binds when a listen section names
// none: loopback for Device alone, otherwise the first interface address
// fitting the single non-device scope. It refuses to guess (ErrScope) when
// the scopes disagree or no interface fits; binding all interfaces must be
// asked for explicitly with 0.0.0.0 or ::.
func BindHost(scopes []Scope) (string, error) {
	if len(scopes) == 0 {
		return "127.0.0.1", nil
	}
	var want Scope
	for _, s := range scopes {
		if s == Private {
			s = Local
		}
		if s == Device {
			if want == "" {
				want = Device
			}
			continue
		}
		if want != "" && want != Device && want != s {
			return "", fmt.Errorf("%w: no host given and scopes %v need different hosts; name one (0.0.0.0 or :: binds all interfaces)", ErrScope, scopes)
		}
		want = s
	}
	if want == Device {
		return "127.0.0.1", nil
	}
	for _, s := range scopes {
		if s == Device {
			return "", fmt.Errorf("%w: no host given and scopes %v need different hosts; name one (0.0.0.0 or :: binds all interfaces)", ErrScope, scopes)
		}
	}
	ips := InterfaceAddrs(want)
	if len(ips) == 0 {
		return "", fmt.Errorf("%w: no host given and this machine has no %s address", ErrScope, want)
	}
	return ips[0].String(), nil
}

// AdvertiseHosts returns the hosts under which a listener bound to bound
// is reachable from scope. A specific address is advertised in every scope
// the listener was given (the caller checks membership); an unspecified
// address (0.0.0.0, ::) expands to the interface addresses fitting the
// scope, loopback included for Device. Zones are dropped for every scope
// but Device, since a zone names an interface of this machine.
func AdvertiseHosts(bound netip.Addr, scope Scope) []string {
	if !bound.IsUnspecified() {
		return []string{hostString(bound, scope)}
	}
	var ips []netip.Addr
	if scope == Device {
		if bound.Is4() {
			ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
		} else {
			// A :: socket accepts IPv4 too (unless v6only), so both work.
			ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
		}
	} else {
		for _, ip := range InterfaceAddrs(scope) {
			if bound.Is4() && !ip.Unmap().Is4() {
				continue
			}
			ips = append(ips, ip)
		}
	}
	hosts := make([]string, len(ips))
	for i, ip := range ips {
		hosts[i] = hostString(ip, scope)
	}
	return hosts
}

func hostString(ip netip.Addr, scope Scope) string {
	ip = ip.Unmap()
	if scope != Device {
		ip = ip.WithZone("")
	}
	return ip.String()
}

// HasScope reports whether s is in scopes, treating Local and Private as
// the same scope.
func HasScope(scopes []Scope, s Scope) bool {
	for _, x := range scopes {
		if x == s || (x == Local && s == Private) || (x == Private && s == Local) {
			return true
		}
	}
	return false
}
