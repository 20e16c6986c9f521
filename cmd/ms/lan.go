package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/lan"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// lanFlags are the flags both lan commands take.
type lanFlags struct {
	port, legacyPort int
	formats          string
	allowLoopback    bool
}

func (l *lanFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.port, "port", lan.Port, "the UDP `PORT` of ssb-lan's signed announcements")
	fs.IntVar(&l.legacyPort, "legacy-port", lan.LegacyPort, "the UDP `PORT` of legacy announcements")
	fs.StringVar(&l.formats, "formats", "ssb-lan,legacy", "the announcement `FORMATS`: ssb-lan, legacy or both, comma-separated")
	fs.BoolVar(&l.allowLoopback, "allow-loopback", false, "allow loopback hosts (127.0.0.1, ::1) in announcements: for tests and peers on one machine")
}

func (l *lanFlags) parseFormats() ([]lan.Format, error) {
	var out []lan.Format
	for _, f := range strings.Split(l.formats, ",") {
		switch strings.TrimSpace(f) {
		case "ssb-lan":
			out = append(out, lan.Signed)
		case "legacy":
			out = append(out, lan.Legacy)
		default:
			return nil, fmt.Errorf("--formats: unknown format %q (want ssb-lan, legacy)", f)
		}
	}
	return out, nil
}

var lanAnnounceCmd = &command{
	name:    "lan",
	sub:     "announce",
	args:    "ADDRESS",
	summary: "announce ADDRESS to Scuttlebutt peers on the local network",
	detail: `Announce ADDRESS (the address ms listen prints, with its shs key) on the
local network until interrupted, every 2 s, in both formats Scuttlebutt apps
read: the legacy plain-text datagram on UDP 8008 and ssb-lan's signed one on
UDP 26830. Datagrams go to the broadcast address of every private IPv4
subnet of this machine and to ff02::1 on every IPv6 link.

--secret must hold the key in ADDRESS: the ssb-lan datagram is signed with it.
Only alternatives that may travel on a LAN are announced (net, ws or wss on a
private IP, secured by shs); the others (unix sockets, noauth, loopback and
public hosts) are left out, and said so on stderr. SIGINT or SIGTERM stops
and exits 0.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		var keys keyFlags
		keys.register(fs)
		var lf lanFlags
		lf.register(fs)
		interval := fs.Duration("interval", lan.DefaultInterval, "time between announcements")
		var to stringList
		fs.Var(&to, "to", "send to this `IP` instead of the interfaces' broadcast and multicast addresses; repeat for more")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 1 {
				e.errorf("want exactly one address argument, got %d (quote addresses: ';' and '~' are special in shells)", len(args))
				return exitUsage
			}
			return runLANAnnounce(ctx, e, &keys, &lf, *interval, to, args[0])
		}
	},
}

// fixedAddress is an Advertiser that is reachable at one address from
// every scope: the ADDRESS of ms lan announce.
type fixedAddress msaddr.Multi

func (f fixedAddress) Address(ms.Scope) msaddr.Multi { return msaddr.Multi(f) }

func runLANAnnounce(ctx context.Context, e *env, keys *keyFlags, lf *lanFlags, interval time.Duration, to []string, address string) int {
	m, err := msaddr.Parse(address)
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	formats, err := lf.parseFormats()
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	if interval <= 0 {
		e.errorf("--interval must be positive")
		return exitUsage
	}
	a := &lan.Announcer{
		Interval: interval, Formats: formats, Port: lf.port, LegacyPort: lf.legacyPort,
		AllowLoopback: lf.allowLoopback,
		OnError:       func(err error) { e.errorf("%v", err) },
	}
	for _, s := range to {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			e.errorf("--to: %q is not an IP address", s)
			return exitUsage
		}
		a.Destinations = append(a.Destinations, ip)
	}
	id, err := keys.load()
	if err != nil {
		e.errorf("%v", err)
		return exitCode(err)
	}
	a.AppKey = id.appKey
	if id.fresh {
		e.errorf("no --secret and no $HOME/.ssb/secret: announcing needs the secret of the key in ADDRESS")
		return exitUsage
	}
	announced, err := a.ListenerAddress(fixedAddress(m))
	if err != nil {
		e.errorf("nothing in ADDRESS may be announced on a LAN: %v", err)
		return exitUsage
	}
	for _, alt := range m {
		if lan.CheckAddress(msaddr.Multi{alt}, lf.allowLoopback) != nil {
			e.errorf("leaving out %s: %v", alt, lan.CheckAddress(msaddr.Multi{alt}, lf.allowLoopback))
		}
	}
	pub := id.priv.Public().(ed25519.PublicKey)
	e.infof("announcing %s as %s every %v", announced, shs.FormatID(pub), interval)
	if err := a.Announce(ctx, announced, id.priv); err != nil {
		e.errorf("%v", err)
		if errors.Is(err, lan.ErrKeyMismatch) || errors.Is(err, lan.ErrScope) || errors.Is(err, lan.ErrTooLarge) || errors.Is(err, lan.ErrConfig) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}

var lanWatchCmd = &command{
	name:    "lan",
	sub:     "watch",
	summary: "print the Scuttlebutt peers announced on the local network",
	detail: `Listen for LAN announcements (UDP 26830 ssb-lan and UDP 8008 legacy) until
interrupted and print each peer once, when first heard, and once more if a
peer first heard in the unverified legacy format then sends a signed
ssb-lan announcement. A line is the address, then the format, "verified" or
"unverified", the peer's id and the source IP; with --json, one JSON object
per line with the fields address, key, format, verified and source.

Dropped: signed announcements with a bad signature, legacy ones not sent
from the host they name (unless --any-legacy-source), addresses with stacks
that have no place on a LAN (unix, noauth, loopback or public hosts), and
datagrams over 1472 bytes or over 10 per second from one source. --verbose
says on stderr why each one was dropped. SIGINT or SIGTERM stops and exits 0.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		var keys keyFlags
		fs.StringVar(&keys.appKey, "app-key", "", "the shs network key, 32 bytes in `BASE64` (default: the Scuttlebutt main network key)")
		var lf lanFlags
		lf.register(fs)
		asJSON := fs.Bool("json", false, "print one JSON object per line")
		anySource := fs.Bool("any-legacy-source", false, "accept legacy announcements from any source")
		count := fs.Int("count", 0, "exit after printing `N` peers (0: run until interrupted)")
		verbose := fs.Bool("verbose", false, "say on stderr why each dropped datagram was dropped")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 0 {
				e.errorf("unexpected arguments %q", args)
				return exitUsage
			}
			formats, err := lf.parseFormats()
			if err != nil {
				e.errorf("%v", err)
				return exitUsage
			}
			if *count < 0 {
				e.errorf("--count must not be negative")
				return exitUsage
			}
			w := &lan.Watcher{Formats: formats, Port: lf.port, LegacyPort: lf.legacyPort, AllowLoopback: lf.allowLoopback, AnyLegacySource: *anySource}
			if keys.appKey != "" {
				if w.AppKey, err = shs.ParseKey(keys.appKey); err != nil {
					e.errorf("--app-key: %v", err)
					return exitUsage
				}
			}
			if *verbose {
				w.OnError = func(err error) { e.errorf("dropped: %v", err) }
			}
			return runLANWatch(ctx, e, w, *asJSON, *count)
		}
	},
}

// peerJSON is one line of ms lan watch --json.
type peerJSON struct {
	Address  string     `json:"address"`
	Key      string     `json:"key"`
	Format   lan.Format `json:"format"`
	Verified bool       `json:"verified"`
	Source   string     `json:"source"`
}

func runLANWatch(ctx context.Context, e *env, w *lan.Watcher, asJSON bool, count int) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	printed := 0
	var werr error
	err := w.Watch(ctx, func(p lan.Peer) {
		if werr != nil {
			return
		}
		if asJSON {
			b, err := json.Marshal(peerJSON{p.Address.String(), shs.FormatID(p.Key), p.Format, p.Verified, p.Source.Addr().String()})
			if err != nil {
				werr = err
				cancel()
				return
			}
			_, werr = fmt.Fprintf(e.stdout, "%s\n", b)
		} else {
			v := "unverified"
			if p.Verified {
				v = "verified"
			}
			_, werr = fmt.Fprintf(e.stdout, "%s %s %s %s %s\n", p.Address, p.Format, v, shs.FormatID(p.Key), p.Source.Addr())
		}
		printed++
		if werr != nil || (count > 0 && printed >= count) {
			cancel()
		}
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		e.errorf("%v", err)
		if errors.Is(err, lan.ErrConfig) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}
