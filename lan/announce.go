package lan

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// DefaultInterval is the time between two announcements, as in ssb-lan.
const DefaultInterval = 2 * time.Second

// An Announcer broadcasts a listener's address on the local network. The
// zero value announces in both formats every 2 s on the main network, to
// the subnet broadcast address of every interface with a private IPv4
// address and to the IPv6 all-nodes group (ff02::1) of every interface
// with a link-local IPv6 address. An Announcer may be used for several
// Announce calls at once; do not modify it while in use.
type Announcer struct {
	// AppKey is the 32-byte network key the ssb-lan box is made with
	// (caps.shs). Nil means shs.MainNetKey.
	AppKey []byte

	// Interval is the time between announcements; zero or negative means
	// DefaultInterval.
	Interval time.Duration

	// Formats are the formats announced; nil means both.
	Formats []Format

	// Port and LegacyPort are the UDP ports announced to; zero means
	// Port (26830) and LegacyPort (8008). Tests use free ports.
	Port, LegacyPort int

	// Destinations, if not nil, replace the interfaces' broadcast and
	// multicast addresses: each announcement goes to each of these IPs
	// (an IPv6 link-local or multicast one with its zone). Tests use
	// 127.255.255.255, which reaches every socket on the port on Linux.
	Destinations []netip.Addr

	// AllowLoopback lets loopback hosts (127.0.0.0/8, ::1) be announced:
	// for tests and for peers on one machine. Unix sockets, serial lines
	// and noauth are never announced.
	AllowLoopback bool

	// OnError, if not nil, is told about every announcement that could
	// not be sent (an interface that went away, say). Sending goes on.
	OnError func(error)
}

func (a *Announcer) interval() time.Duration {
	if a.Interval <= 0 {
		return DefaultInterval
	}
	return a.Interval
}

// Announce announces addr, signed by key, until ctx is done, and then
// returns nil. addr must pass CheckAddress and carry key's public half in
// its shs sections (ListenerAddress gives a listener's); configuration
// errors are returned at once, before anything is sent. The first
// announcement goes out at once, then one every Interval; a send that
// fails is reported to OnError and retried at the next tick.
func (a *Announcer) Announce(ctx context.Context, addr msaddr.Multi, key ed25519.PrivateKey) error {
	if err := CheckAddress(addr, a.AllowLoopback); err != nil {
		return err
	}
	formats, err := checkFormats(a.Formats)
	if err != nil {
		return err
	}
	type datagram struct {
		port int
		b    []byte
	}
	var out []datagram
	for _, f := range formats {
		switch f {
		case Signed:
			b, err := Seal(addr, key, a.AppKey)
			if err != nil {
				return err
			}
			out = append(out, datagram{portOr(a.Port, Port), b})
		case Legacy:
			if _, err := appKeyOf(a.AppKey); err != nil {
				return err
			}
			if len(key) != ed25519.PrivateKeySize {
				return fmt.Errorf("%w: private key is %d bytes, want %d", ErrConfig, len(key), ed25519.PrivateKeySize)
			}
			k, err := keyOf(addr)
			if err != nil {
				return err
			}
			if !k.Equal(key.Public()) {
				return fmt.Errorf("%w: the address's shs key is not the announcing key", ErrKeyMismatch)
			}
			b := []byte(addr.String())
			if len(b) > MaxDatagramSize {
				return fmt.Errorf("%w: the legacy datagram of this address is %d bytes, the most is %d", ErrTooLarge, len(b), MaxDatagramSize)
			}
			out = append(out, datagram{portOr(a.LegacyPort, LegacyPort), b})
		}
	}
	for _, p := range []int{a.Port, a.LegacyPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%w: port %d out of range", ErrConfig, p)
		}
	}

	// Datagrams leave from ephemeral ports: ssb-lan's legacy reader
	// ignores datagrams from one of its host's addresses and from its own
	// port, taking them for its own.
	c4, err := listenUDP(ctx, "udp4", "0.0.0.0:0")
	if err != nil {
		return fmt.Errorf("lan: announce: %w", err)
	}
	defer c4.Close()
	var c6 net.PacketConn // opened when an IPv6 destination shows up
	defer func() {
		if c6 != nil {
			c6.Close()
		}
	}()
	send := func() {
		dsts := a.Destinations
		if dsts == nil {
			dsts = interfaceDestinations()
		}
		for _, ip := range dsts {
			c := c4
			if !ip.Unmap().Is4() {
				if c6 == nil {
					c, err := listenUDP(ctx, "udp6", "[::]:0")
					if err != nil {
						a.report(fmt.Errorf("lan: announce to %s: %w", ip, err))
						continue
					}
					c6 = c
				}
				c = c6
			}
			for _, d := range out {
				to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip.Unmap(), uint16(d.port)))
				if _, err := c.WriteTo(d.b, to); err != nil {
					a.report(fmt.Errorf("lan: announce to %s: %w", to, err))
				}
			}
		}
	}
	t := time.NewTicker(a.interval())
	defer t.Stop()
	for {
		send()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *Announcer) report(err error) {
	if a.OnError != nil {
		a.OnError(err)
	}
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

// checkFormats returns the formats asked for, both for nil.
func checkFormats(fs []Format) ([]Format, error) {
	if fs == nil {
		return []Format{Signed, Legacy}, nil
	}
	if len(fs) == 0 {
		return nil, fmt.Errorf("%w: no format", ErrConfig)
	}
	var out []Format
	seen := map[Format]bool{}
	for _, f := range fs {
		if f != Legacy && f != Signed {
			return nil, fmt.Errorf("%w: unknown format %d", ErrConfig, uint8(f))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// interfaceDestinations returns the subnet broadcast address of every up,
// broadcast-capable interface's private IPv4 prefixes, and ff02::1 on every
// up, multicast-capable interface with a link-local IPv6 address.
// Loopback interfaces are left out.
func interfaceDestinations() []netip.Addr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ifc := range ifs {
		out = append(out, destinationsOf(ifc.Name, ifc.Flags, ifaceAddrs(ifc))...)
	}
	return out
}

func ifaceAddrs(ifc net.Interface) []netip.Prefix {
	as, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p)
		}
	}
	return out
}

var allNodes = netip.MustParseAddr("ff02::1")

// destinationsOf is interfaceDestinations for one interface.
func destinationsOf(name string, flags net.Flags, prefixes []netip.Prefix) []netip.Addr {
	if flags&net.FlagUp == 0 || flags&net.FlagLoopback != 0 {
		return nil
	}
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	v6 := false
	for _, p := range prefixes {
		ip := p.Addr().Unmap()
		switch {
		case ip.Is4() && flags&net.FlagBroadcast != 0 && stack.Local.Fits(ip) && p.Bits() < 31:
			b := broadcastOf(netip.PrefixFrom(ip, p.Bits()))
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		case ip.Is6() && ip.IsLinkLocalUnicast():
			v6 = true
		}
	}
	if v6 && flags&net.FlagMulticast != 0 {
		out = append(out, allNodes.WithZone(name))
	}
	return out
}

// broadcastOf returns the last address of an IPv4 prefix.
func broadcastOf(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
