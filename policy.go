package multiserver

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// An Alternative is one way to reach a peer, as a Dialer's DialPolicy
// sees it: resolved and checked by its plugins, before any I/O.
type Alternative struct {
	Index int            // position in the dialed address, from 0
	Stack string         // transport and transforms, e.g. "net~shs"
	Addr  msaddr.Address // canonical form, e.g. net:192.0.2.7:8008~shs:<key>, without invite seeds

	// Scope is where the destination is: Device, Local or Public, or
	// empty if the transport cannot tell without I/O (see DestScope).
	Scope Scope

	// Key is the remote key a transform will insist on (the key of an
	// shs section), or nil.
	Key ed25519.PublicKey
}

// A DialPolicy decides whether a Dialer may dial one alternative. It runs
// for every alternative before anything is dialed, so that a refused
// alternative causes no I/O, not even a lookup of its host name. (The
// alternatives a dns: alternative stands for are looked up first; the
// policy sees each of them.) A nil error allows
// the alternative; an error refuses it and appears, wrapped in ErrRefused,
// in the *DialError the dial returns if no other alternative works.
type DialPolicy func(Alternative) error

// A Source is a conn a Listener just accepted from its transport, as an
// AcceptPolicy sees it: before any handshake byte is read or written.
type Source struct {
	Stack  string   // the listening stack, e.g. "net~shs"
	Remote net.Addr // the transport's remote address
	Scope  Scope    // where the remote end is: Device, Local, Public, or "" if unknown
}

// An AcceptPolicy decides whether a Listener runs the handshake on a conn
// it accepted. A refused conn is closed before any handshake byte and
// reported to ListenConfig.OnError wrapped in ErrRefused. It runs on the
// stack's accept goroutine and must not block for long. The decision
// after the handshake, by the peer's proven key, is Config.Authorize.
type AcceptPolicy func(Source) error

// OnionForPublic is a DialPolicy for "the internet only through tor": it
// refuses every alternative that would reach a Public destination (or one
// whose scope cannot be told before dialing, such as a host name) other
// than through the onion transport. Device and Local destinations may use
// any transport.
func OnionForPublic(a Alternative) error {
	if a.Addr[0].Name == onion.Name {
		return nil
	}
	switch a.Scope {
	case Device, Local, Private:
		return nil
	case "":
		return fmt.Errorf("%w: destination scope unknown before dialing; only onion may reach it (OnionForPublic)", ErrRefused)
	}
	return fmt.Errorf("%w: public destination; only onion may reach it (OnionForPublic)", ErrRefused)
}

// NoauthOnDevice is a DialPolicy that refuses the noauth transform towards
// anything but this device: noauth proves nothing about the peer, so it is
// only safe where the operating system vouches for the other end.
func NoauthOnDevice(a Alternative) error {
	if a.Scope == Device {
		return nil
	}
	for _, s := range a.Addr[1:] {
		if s.Name == noauth.Name {
			return fmt.Errorf("%w: noauth to a destination off this device (NoauthOnDevice)", ErrRefused)
		}
	}
	return nil
}

// NoauthFromDevice is the AcceptPolicy counterpart of NoauthOnDevice: it
// refuses conns on a noauth stack from anywhere but this device.
func NoauthFromDevice(s Source) error {
	if s.Scope == Device || !hasTransform(s.Stack, noauth.Name) {
		return nil
	}
	return fmt.Errorf("%w: noauth from off this device (NoauthFromDevice)", ErrRefused)
}

// AllDial combines dial policies: an alternative is allowed only if every
// one allows it; the first refusal is returned.
func AllDial(ps ...DialPolicy) DialPolicy {
	return func(a Alternative) error {
		for _, p := range ps {
			if err := p(a); err != nil {
				return err
			}
		}
		return nil
	}
}

// AllAccept combines accept policies: a conn is allowed only if every one
// allows it; the first refusal is returned.
func AllAccept(ps ...AcceptPolicy) AcceptPolicy {
	return func(s Source) error {
		for _, p := range ps {
			if err := p(s); err != nil {
				return err
			}
		}
		return nil
	}
}

func hasTransform(stack, name string) bool {
	parts := strings.Split(stack, "~")
	for _, p := range parts[1:] {
		if p == name {
			return true
		}
	}
	return false
}

// refused wraps a policy's error in ErrRefused unless it already is.
func refused(err error) error {
	if err == nil || errors.Is(err, ErrRefused) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrRefused, err)
}

// DestScope reports where the destination of a canonical transport
// section is, without I/O: Device for unix and serial sections, and for
// net and ws hosts on loopback or named localhost; Local for private and
// link-local addresses and *.local names (mDNS); Public for onion
// addresses, other IP addresses and every other host name, since where a
// name points is known only after a lookup. A transport of another name
// can tell by having a method DestScope(msaddr.Section) Scope; otherwise
// the result is empty.
func DestScope(t any, s msaddr.Section) Scope {
	switch s.Name {
	case tcp.Name:
		host, _, err := msaddr.HostPort(s)
		if err != nil {
			return ""
		}
		if host == "" { // dials localhost, as in JavaScript
			return Device
		}
		return hostScope(host)
	case "ws", "wss":
		raw := s.Name + ":" + strings.Join(s.Args, ":")
		if !strings.HasPrefix(raw, s.Name+"://") { // ws:HOST:PORT
			host, _, err := msaddr.HostPort(s)
			if err != nil {
				return ""
			}
			return hostScope(host)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return ""
		}
		return hostScope(u.Hostname())
	case unixsock.Name, "serial":
		return Device
	case onion.Name:
		return Public
	}
	if ds, ok := t.(interface {
		DestScope(msaddr.Section) Scope
	}); ok {
		return ds.DestScope(s)
	}
	return ""
}

func hostScope(host string) Scope {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ipScope(ip)
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return Device
	case strings.HasSuffix(h, ".local"):
		return Local
	}
	return Public
}

func ipScope(ip netip.Addr) Scope {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return Device
	case Local.Fits(ip):
		return Local
	}
	return Public
}

// sourceScope places the remote end of an accepted conn: Device for
// conns without an IP (unix sockets, serial lines), otherwise by IP.
func sourceScope(a net.Addr) Scope {
	switch a := a.(type) {
	case nil:
		return ""
	case *net.TCPAddr:
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ipScope(ip)
		}
		return ""
	}
	switch a.Network() {
	case "unix", "unixpacket", "serial":
		return Device
	}
	// Other transports (ws) print host:port, [v6]:port or a bare IP,
	// possibly after a URL scheme.
	s := a.String()
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ipScope(ap.Addr())
	}
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return ipScope(ip)
	}
	return ""
}

// expectedKey returns the key an shs section names, or nil.
func expectedKey(a msaddr.Address) ed25519.PublicKey {
	for _, s := range a[1:] {
		if s.Name == shs.Name && len(s.Args) > 0 {
			if k, err := shs.ParseID(s.Args[0]); err == nil {
				return k
			}
		}
	}
	return nil
}
