package lan

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// An Advertiser tells the address it is reachable at from a scope, as
// *multiserver.Listener does.
type Advertiser interface {
	Address(scope stack.Scope) msaddr.Multi
}

// ListenerAddress returns what an Announcer with this configuration
// announces for l: the alternatives of l's private and local scope
// addresses (the scopes ssb-lan announces) that may travel on a LAN. Stacks
// of the device scope (unix sockets, serial lines, noauth, loopback hosts
// unless AllowLoopback) and anything else CheckAddress refuses are left
// out; if nothing is left, the error wraps ErrScope.
func (a *Announcer) ListenerAddress(l Advertiser) (msaddr.Multi, error) {
	var m msaddr.Multi
	seen := map[string]bool{}
	for _, sc := range []stack.Scope{stack.Private, stack.Local} {
		for _, alt := range l.Address(sc) {
			if checkAlternative(alt, a.AllowLoopback) != nil || seen[alt.String()] {
				continue
			}
			seen[alt.String()] = true
			m = append(m, alt.Clone())
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: the listener has no private or local scope stack fit for a LAN (net, ws or wss on a private IP, with shs)", ErrScope)
	}
	return m, nil
}

// CheckAddress reports whether m may be announced on, or accepted from, a
// local network: every alternative must be a net, ws or wss transport on
// an IP address of the local or private scope (RFC 1918, RFC 4193,
// link-local; loopback only with allowLoopback), without an IPv6 zone
// (it names an interface of the announcing machine), secured by shs and
// by nothing else. Errors wrap ErrScope and say which alternative failed.
func CheckAddress(m msaddr.Multi, allowLoopback bool) error {
	if len(m) == 0 {
		return fmt.Errorf("%w: empty address", ErrScope)
	}
	for i, a := range m {
		if err := checkAlternative(a, allowLoopback); err != nil {
			return fmt.Errorf("alternative %d: %w", i+1, err)
		}
	}
	return nil
}

func checkAlternative(a msaddr.Address, allowLoopback bool) error {
	if len(a) == 0 {
		return fmt.Errorf("%w: empty alternative", ErrScope)
	}
	ip, err := hostIP(a.Transport())
	if err != nil {
		return err
	}
	switch {
	case ip.Zone() != "":
		return fmt.Errorf("%w: host %s has a zone, which names an interface of the announcing machine", ErrScope, ip)
	case ip.IsLoopback() && !allowLoopback:
		return fmt.Errorf("%w: loopback host %s is device scope", ErrScope, ip)
	case !ip.IsLoopback() && !stack.Local.Fits(ip):
		return fmt.Errorf("%w: host %s is not a local network address", ErrScope, ip)
	}
	tf := a.Transforms()
	if len(tf) == 0 {
		return fmt.Errorf("%w: %s without shs", ErrScope, a.Transport().Name)
	}
	for _, s := range tf {
		if s.Name != "shs" {
			return fmt.Errorf("%w: transform %q (only shs goes on a LAN)", ErrScope, s.Name)
		}
	}
	return nil
}

// hostIP returns the IP host of a net, ws or wss section.
func hostIP(s msaddr.Section) (netip.Addr, error) {
	var host string
	switch s.Name {
	case "net":
		h, _, err := msaddr.HostPort(s)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w: %w", ErrScope, err)
		}
		host = h
	case "ws", "wss":
		u, err := url.Parse(s.Name + ":" + strings.Join(s.Args, ":"))
		if err != nil || u.Host == "" {
			return netip.Addr{}, fmt.Errorf("%w: %s section is not a URL with a host", ErrScope, s.Name)
		}
		host = u.Hostname()
	default:
		return netip.Addr{}, fmt.Errorf("%w: transport %q (only net, ws and wss go on a LAN)", ErrScope, s.Name)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: host %q is not an IP address", ErrScope, host)
	}
	return ip, nil
}
