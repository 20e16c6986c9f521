package lan

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv6"
)

// Defaults of the Watcher's bounds.
const (
	// DefaultMaxPeers is the default number of peers a Watcher remembers.
	DefaultMaxPeers = 256
	// DefaultRatePerSource is the default number of datagrams a Watcher
	// reads from one source IP per second: an ssb-lan peer sends one of
	// each format every 2 s per interface.
	DefaultRatePerSource = 10
	// maxSources bounds the sources counted in one second; datagrams of
	// further sources wait for the next second.
	maxSources = 4096
)

// A Watcher finds the peers that announce themselves on the local
// network. The zero value listens for both formats on their usual ports,
// on the main network, with verification and the default bounds. A
// Watcher may be used for several Watch calls, but two Watch calls on the
// same ports see the same datagrams; do not modify it while in use.
type Watcher struct {
	// AppKey is the 32-byte network key ssb-lan boxes are opened with.
	// Nil means shs.MainNetKey.
	AppKey []byte

	// Formats are the formats listened for; nil means both.
	Formats []Format

	// Port and LegacyPort are the UDP ports listened on; zero means Port
	// (26830) and LegacyPort (8008).
	Port, LegacyPort int

	// Self, if set, is this peer's own key: its announcements are
	// ignored, as ssb-lan ignores its own id.
	Self ed25519.PublicKey

	// AnyLegacySource accepts legacy announcements from any source. By
	// default one is accepted only when every host in it is the IP it
	// came from, so that nobody on the LAN can point peers at a third
	// machine without at least sending from its address.
	AnyLegacySource bool

	// AllowLoopback accepts loopback hosts in announcements: for tests
	// and for peers on one machine.
	AllowLoopback bool

	// MaxPeers bounds the peers remembered (to report each once); when
	// full, the one heard from least recently is forgotten. Zero or
	// negative means DefaultMaxPeers.
	MaxPeers int

	// RatePerSource bounds the datagrams read from one source IP in one
	// second; beyond it they are dropped unread. Zero or negative means
	// DefaultRatePerSource.
	RatePerSource int

	// OnError, if not nil, is told about every datagram dropped
	// (malformed, bad signature, refused address, over a bound), with
	// where it came from. It is called from Watch's goroutine.
	OnError func(error)
}

// Watch listens for announcements until ctx is done, and then returns nil.
// found is called, from Watch's goroutine, once for each new peer (a key
// and an address), and once more when a peer first heard in the legacy
// format is then heard in the signed one (Verified). Datagrams that fail
// verification or the Watcher's bounds are dropped and told to OnError.
// Errors opening the sockets are returned at once.
func (w *Watcher) Watch(ctx context.Context, found func(Peer)) error {
	formats, err := checkFormats(w.Formats)
	if err != nil {
		return err
	}
	t, err := w.newTracker()
	if err != nil {
		return err
	}
	for _, p := range []int{w.Port, w.LegacyPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%w: port %d out of range", ErrConfig, p)
		}
	}
	type packet struct {
		f   Format
		src netip.AddrPort
		b   []byte
		err error
	}
	var conns []net.PacketConn
	var connFormats []Format
	for _, f := range formats {
		port := portOr(w.Port, Port)
		if f == Legacy {
			port = portOr(w.LegacyPort, LegacyPort)
		}
		c, err := listenUDP(ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", port))
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return fmt.Errorf("lan: watch %s on UDP %d: %w", f, port, err)
		}
		conns, connFormats = append(conns, c), append(connFormats, f)
		// IPv6 (link-local multicast to ff02::1) where the machine has
		// it; "udp6" sockets are IPv6-only, so nothing arrives twice.
		if c6, err := listenUDP(ctx, "udp6", fmt.Sprintf("[::]:%d", port)); err == nil {
			joinAllNodes(c6)
			conns, connFormats = append(conns, c6), append(connFormats, f)
		}
	}

	packets := make(chan packet)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range conns {
		f := connFormats[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// One byte more than the bound tells an oversize
				// datagram from one that fits.
				buf := make([]byte, MaxDatagramSize+1)
				n, from, err := c.ReadFrom(buf)
				if errors.Is(err, net.ErrClosed) {
					return
				}
				p := packet{f: f, b: buf[:n], err: err}
				if ua, ok := from.(*net.UDPAddr); ok {
					p.src = ua.AddrPort()
				}
				select {
				case packets <- p:
				case <-done:
					return
				}
				if err != nil {
					// A read error that is not the close (an ICMP
					// error reported late, say): wait for a tick so
					// that a persistent one cannot spin.
					select {
					case <-time.After(100 * time.Millisecond):
					case <-done:
						return
					}
				}
			}
		}()
	}
	defer func() {
		close(done)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	report := func(err error) {
		if w.OnError != nil {
			w.OnError(err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-packets:
			if p.err != nil {
				report(fmt.Errorf("lan: watch %s: %w", p.f, p.err))
				continue
			}
			peer, ok, err := t.handle(time.Now(), p.src, p.f, p.b)
			if err != nil {
				report(fmt.Errorf("%s datagram from %s: %w", p.f, p.src, err))
				continue
			}
			if ok {
				found(peer)
			}
		}
	}
}

// A tracker applies a Watcher's checks and bounds to datagrams; it holds
// no sockets, so tests and fuzzing drive it directly with their own clock.
type tracker struct {
	w        *Watcher
	maxPeers int
	rate     int

	window time.Time // start of the current one-second window
	counts map[netip.Addr]int

	peers map[peerKey]*seenPeer
}

type peerKey struct {
	key, address string
}

type seenPeer struct {
	verified bool
	last     time.Time
}

func (w *Watcher) newTracker() (*tracker, error) {
	if _, err := appKeyOf(w.AppKey); err != nil {
		return nil, err
	}
	if w.Self != nil && len(w.Self) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Self is %d bytes, want %d", ErrConfig, len(w.Self), ed25519.PublicKeySize)
	}
	t := &tracker{w: w, maxPeers: w.MaxPeers, rate: w.RatePerSource, counts: map[netip.Addr]int{}, peers: map[peerKey]*seenPeer{}}
	if t.maxPeers <= 0 {
		t.maxPeers = DefaultMaxPeers
	}
	if t.rate <= 0 {
		t.rate = DefaultRatePerSource
	}
	return t, nil
}

// handle checks one datagram of format f from src received at now. It
// returns the Peer and true when it is to be reported, false for a peer
// already reported (or this peer itself), and an error for a datagram
// that is dropped.
func (t *tracker) handle(now time.Time, src netip.AddrPort, f Format, b []byte) (Peer, bool, error) {
	ip := src.Addr().Unmap()
	if now.Sub(t.window) >= time.Second || now.Before(t.window) {
		t.window = now
		clear(t.counts)
	}
	n, ok := t.counts[ip]
	if !ok && len(t.counts) >= maxSources {
		return Peer{}, false, fmt.Errorf("%w: more than %d sources this second", ErrRate, maxSources)
	}
	if n >= t.rate {
		return Peer{}, false, fmt.Errorf("%w: more than %d datagrams this second", ErrRate, t.rate)
	}
	t.counts[ip] = n + 1

	var p Peer
	var err error
	switch f {
	case Signed:
		p, err = Open(b, t.w.AppKey)
	case Legacy:
		p, err = ParseLegacy(b)
	default:
		err = fmt.Errorf("%w: unknown format %d", ErrConfig, uint8(f))
	}
	if err != nil {
		return Peer{}, false, err
	}
	if t.w.Self != nil && p.Key.Equal(t.w.Self) {
		return Peer{}, false, nil
	}
	if err := CheckAddress(p.Address, t.w.AllowLoopback); err != nil {
		return Peer{}, false, err
	}
	if f == Legacy && !t.w.AnyLegacySource {
		for _, a := range p.Address {
			h, _ := hostIP(a.Transport()) // CheckAddress made sure there is one
			if h.Unmap() != ip {
				return Peer{}, false, fmt.Errorf("%w: it names host %s", ErrSource, h)
			}
		}
	}
	p.Source = src
	k := peerKey{string(p.Key), p.Address.String()}
	if s, ok := t.peers[k]; ok {
		s.last = now
		if s.verified || !p.Verified {
			return Peer{}, false, nil
		}
		s.verified = true
		return p, true, nil
	}
	if len(t.peers) >= t.maxPeers {
		var oldest peerKey
		var at time.Time
		first := true
		for k, s := range t.peers {
			if first || s.last.Before(at) {
				oldest, at, first = k, s.last, false
			}
		}
		delete(t.peers, oldest)
	}
	t.peers[k] = &seenPeer{verified: p.Verified, last: now}
	return p, true, nil
}

// joinAllNodes joins ff02::1 on every up, multicast-capable interface.
// Kernels join it for the host anyway; joining on the socket makes
// delivery not depend on IPV6_MULTICAST_ALL. Failures are ignored: an
// interface without IPv6 simply does not take part.
func joinAllNodes(c net.PacketConn) {
	ifs, err := net.Interfaces()
	if err != nil {
		return
	}
	p := ipv6.NewPacketConn(c)
	group := &net.UDPAddr{IP: net.ParseIP("ff02::1")}
	for i := range ifs {
		ifc := &ifs[i]
		if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagMulticast != 0 && ifc.Flags&net.FlagLoopback == 0 {
			p.JoinGroup(ifc, group)
		}
	}
}
