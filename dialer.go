package multiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

// Default timing.
const (
	// DefaultFallbackDelay is how long Dial waits for one alternative
	// before starting the next in parallel (Happy Eyeballs, RFC 8305).
	DefaultFallbackDelay = 250 * time.Millisecond
	// DefaultHandshakeTimeout bounds the transforms of one connection
	// when HandshakeTimeout is zero; it is shs's own default.
	DefaultHandshakeTimeout = shs.DefaultHandshakeTimeout
	// DefaultDialTimeout bounds one dial attempt whole. Two minutes is
	// what Linux takes to give up a TCP connect by default and what tor
	// lets a SOCKS request wait for a circuit (SocksTimeout): an attempt
	// still running then waits on a peer or proxy that will not answer.
	DefaultDialTimeout = 2 * time.Minute
)

// A Dialer dials multiserver addresses. The zero value is ready to use.
//
// A Dialer checks its configuration and builds its plugins on first use;
// do not modify it after that. It is safe for concurrent use.
type Dialer struct {
	Config Config

	// FallbackDelay is the head start each alternative of an address gets
	// before the next one is tried in parallel; an alternative that fails
	// sooner starts the next at once. Zero means DefaultFallbackDelay; a
	// negative value tries the alternatives strictly one after another.
	FallbackDelay time.Duration

	// HandshakeTimeout bounds the transforms (the shs handshake) of each
	// attempt; zero means DefaultHandshakeTimeout and a negative value no
	// bound but the others, as in package shs. The ctx passed to
	// DialContext bounds everything as well.
	HandshakeTimeout time.Duration

	// Resolver looks up the TXT records of dns: alternatives (see package
	// dnsaddr); nil means the system's resolver. The lookups of each dns:
	// alternative are bounded by the ctx passed to DialContext and by
	// Timeout, like one attempt.
	Resolver dnsaddr.TXTResolver

	// Timeout bounds each attempt whole, whatever the ctx passed to
	// DialContext: the transport's connect and its own phases (a SOCKS5
	// proxy's CONNECT, a WebSocket upgrade) and then the transforms, which
	// HandshakeTimeout bounds as well. Zero or negative means
	// DefaultDialTimeout. An attempt that runs out fails with an error
	// wrapping context.DeadlineExceeded.
	Timeout time.Duration

	// Policy, if not nil, decides for each alternative, before anything
	// is dialed, whether it may be dialed at all; see DialPolicy,
	// OnionForPublic and NoauthOnDevice.
	Policy DialPolicy

	resolved resolved
}

// Dial connects to addr with a zero Dialer.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d Dialer
	return d.DialContext(ctx, addr)
}

// candidate is one alternative this dialer understands.
type candidate struct {
	index      int    // position of the alternative in the address as given
	from       string // the TXT name it was resolved from, or ""
	name       string // "net~shs"
	transport  stack.Transport
	transforms []stack.Transform
	eps        []stack.Endpoint // the plugins' parsed sections, one per section
	addr       msaddr.Address   // canonical: the Section of each of eps
}

// DialContext connects to the first alternative of addr that works.
//
// A dns:NAME alternative is first replaced, in place, by the alternatives
// published in the TXT records of _multiserver.NAME (see package dnsaddr);
// with dns:NAME~shs:KEY only those with the key KEY are kept, and without
// a pin the key is whatever DNS says. The lookups happen one dns:
// alternative after another, before any connection attempt, within ctx.
//
// Alternatives using a transport or transform this Dialer does not know
// are skipped; if none is left the error wraps ErrNoStack. Alternatives
// the Policy refuses are not dialed; their errors wrap ErrRefused. The rest are
// tried in order, each given FallbackDelay before the next starts in
// parallel; the first to finish its handshake wins and the others are
// cancelled and closed. If all fail, the error is a *DialError listing
// each alternative and why. ctx cancels every attempt at once.
//
// A configuration no dial could work with is reported before any I/O,
// wrapping ErrInvalidConfig.
func (d *Dialer) DialContext(ctx context.Context, addr string) (net.Conn, error) {
	t := d.Config.Trace
	if t == nil {
		return d.dial(ctx, addr)
	}
	start, shown := time.Now(), msaddr.Redact(addr)
	if t.DialStart != nil {
		t.DialStart(DialStartInfo{Addr: shown})
	}
	c, err := d.dial(ctx, addr)
	if t.DialDone != nil {
		mc, _ := c.(*Conn)
		t.DialDone(DialDoneInfo{Addr: shown, Conn: mc, Err: err, Duration: time.Since(start)})
	}
	return c, err
}

func (d *Dialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := d.dialAll(ctx, addr)
	if err != nil || d.Config.ConnSet == nil {
		return c, err
	}
	if err := d.Config.ConnSet.Add(c.(*Conn)); err != nil {
		return nil, fmt.Errorf("multiserver: dial: %w", err)
	}
	return c, nil
}

func (d *Dialer) dialAll(ctx context.Context, addr string) (net.Conn, error) {
	st, err := d.resolved.stacks(&d.Config)
	if err != nil {
		return nil, err
	}
	m, err := msaddr.Parse(addr)
	if err != nil {
		return nil, err
	}
	alts, lookups, errs := d.expandDNS(ctx, st, m)
	var cands []candidate
	for _, a := range alts {
		c, known, err := st.candidate(a.index, a.addr)
		if !known {
			continue
		}
		c.from = a.from
		if err != nil {
			errs = append(errs, &AltError{Index: a.index, Stack: c.name, From: a.from, Err: err})
			continue
		}
		if d.Policy != nil {
			if err := refused(d.Policy(c.alternative())); err != nil {
				errs = append(errs, &AltError{Index: a.index, Stack: c.name, From: a.from, Err: err})
				continue
			}
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		if len(errs) > 0 {
			sortAltErrors(errs)
			return nil, &DialError{Addr: addr, Errs: errs, Lookups: lookups}
		}
		names := stackNames(alts)
		if names == "" { // only dns: alternatives pinned with unknown transforms
			names = stackNames(given(m))
		}
		hint := ""
		if h := msaddr.HostPortHint(addr); h != "" {
			hint = "; " + h
		}
		return nil, fmt.Errorf("%w in %q; this dialer knows %s%s", ErrNoStack, names, st.known(), hint)
	}
	return d.race(ctx, addr, cands, errs, lookups)
}

func stackNames(alts []dialAlt) string {
	var parts []string
	for _, a := range alts {
		parts = append(parts, addrStackName(a.addr))
	}
	return strings.Join(parts, ";")
}

func addrStackName(a msaddr.Address) string {
	names := make([]string, len(a))
	for i, s := range a {
		names[i] = s.Name
	}
	return strings.Join(names, "~")
}

// candidate resolves the plugins of alternative a. known is false if a
// plugin is unknown; err reports a section the plugin rejects.
func (st *stackSet) candidate(i int, a msaddr.Address) (c candidate, known bool, err error) {
	c = candidate{index: i, name: addrStackName(a), addr: make(msaddr.Address, len(a)), eps: make([]stack.Endpoint, len(a))}
	t, fs, lerr := st.lookup(a)
	if lerr != nil {
		return c, false, nil
	}
	c.transport, c.transforms = t, fs
	if err := c.parse(0, t.Parse, a[0]); err != nil {
		return c, true, err
	}
	for j, f := range c.transforms {
		if err := c.parse(j+1, f.Parse, a[j+1]); err != nil {
			return c, true, err
		}
	}
	return c, true, nil
}

// parse sets section j of c from its plugin's Parse, once: Dial and
// Client take the endpoint, and the root's policy, tracing and addresses
// read its canonical section.
func (c *candidate) parse(j int, parse func(msaddr.Section) (stack.Endpoint, error), s msaddr.Section) error {
	ep, err := parseEndpoint(parse, s)
	if err != nil {
		return err
	}
	c.eps[j], c.addr[j] = ep, ep.Section()
	return nil
}

// parseEndpoint calls a plugin's Parse and refuses a nil endpoint, which
// would panic later.
func parseEndpoint(parse func(msaddr.Section) (stack.Endpoint, error), s msaddr.Section) (stack.Endpoint, error) {
	ep, err := parse(s)
	if err != nil {
		return nil, err
	}
	if ep == nil {
		return nil, fmt.Errorf("%w: the %s plugin's Parse returned no endpoint and no error", stack.ErrAddress, s.Name)
	}
	return ep, nil
}

type dialResult struct {
	conn *Conn
	err  error
	pos  int // position in cands
}

// race runs the Happy Eyeballs schedule over cands.
func (d *Dialer) race(ctx context.Context, addr string, cands []candidate, errs []error, lookups []dnsaddr.Lookup) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	delay := d.FallbackDelay
	if delay == 0 {
		delay = DefaultFallbackDelay
	}
	results := make(chan dialResult, len(cands))
	next, running := 0, 0
	start := func() {
		c, pos := cands[next], next
		next++
		running++
		go func() {
			conn, err := d.dialOne(ctx, c)
			results <- dialResult{conn: conn, err: err, pos: pos}
		}()
	}
	start()
	var timer *time.Timer
	var timerC <-chan time.Time
	armTimer := func() {
		if delay < 0 || next == len(cands) {
			timerC = nil
			return
		}
		if timer == nil {
			timer = time.NewTimer(delay)
		} else {
			timer.Reset(delay)
		}
		timerC = timer.C
	}
	armTimer()
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	failed := map[int]error{}
	var winner *Conn
	for running > 0 {
		select {
		case <-timerC:
			start()
			armTimer()
		case r := <-results:
			running--
			if r.err == nil {
				if winner == nil {
					winner = r.conn
					cancel() // stop the others
				} else {
					r.conn.Close()
				}
				continue
			}
			failed[r.pos] = r.err
			if winner == nil && next < len(cands) && ctx.Err() == nil {
				start()
				armTimer()
			}
		}
	}
	if winner != nil {
		return winner, nil
	}
	for pos, c := range cands {
		if err, ok := failed[pos]; ok {
			errs = append(errs, &AltError{Index: c.index, Stack: c.name, From: c.from, Err: err})
		}
	}
	sortAltErrors(errs)
	if len(errs) == 0 { // ctx was done before any attempt reported
		return nil, ctx.Err()
	}
	return nil, &DialError{Addr: addr, Errs: errs, Lookups: lookups}
}

func sortAltErrors(errs []error) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].(*AltError).Index < errs[j-1].(*AltError).Index; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

// dialOne dials one alternative and runs its transforms.
func (d *Dialer) dialOne(ctx context.Context, c candidate) (*Conn, error) {
	to := d.Timeout
	if to <= 0 {
		to = DefaultDialTimeout
	}
	// The transport's Dial returns a conn that no longer depends on the
	// ctx it was given (as net.Dialer.DialContext), so the attempt's own
	// deadline ends with it.
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	tr := d.Config.Trace
	var alt Alternative
	var start time.Time
	if tr != nil {
		alt, start = c.alternative(), time.Now()
		if tr.ConnectStart != nil {
			tr.ConnectStart(ConnectInfo{Alt: alt})
		}
	}
	raw, err := c.transport.Dial(ctx, c.eps[0])
	if err != nil {
		err = attemptError(parent, ctx, to, err)
	}
	if tr != nil && tr.ConnectDone != nil {
		tr.ConnectDone(ConnectInfo{Alt: alt, Err: err, Reason: FailureReason(err), Duration: time.Since(start)})
	}
	if err != nil {
		return nil, err
	}
	if tr == nil {
		return d.handshake(parent, ctx, to, c, raw)
	}
	info := HandshakeInfo{Dialing: true, Alt: alt, Stack: c.name, Remote: raw.RemoteAddr()}
	if tr.HandshakeStart != nil {
		tr.HandshakeStart(info)
	}
	start = time.Now()
	info.Conn, info.Err = d.handshake(parent, ctx, to, c, raw)
	if tr.HandshakeDone != nil {
		info.Reason, info.Duration = FailureReason(info.Err), time.Since(start)
		tr.HandshakeDone(info)
	}
	if info.Err != nil {
		return nil, info.Err
	}
	traced(tr, info.Conn, true)
	return info.Conn, nil
}

// handshake runs the transforms of c over raw, the dialed transport conn.
func (d *Dialer) handshake(parent, ctx context.Context, to time.Duration, c candidate, raw net.Conn) (*Conn, error) {
	hctx, hcancel := withHandshakeTimeout(ctx, d.HandshakeTimeout)
	defer hcancel()
	layers, failed, err := upgrade(hctx, raw, nil, len(c.transforms), func(i int, conn net.Conn) (net.Conn, error) {
		return c.transforms[i].Client(hctx, conn, c.eps[i+1])
	})
	if err != nil {
		if failed < 0 {
			return nil, err
		}
		if cerr := hctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return nil, handshakeError("", c.transforms[failed].Name(), attemptError(parent, ctx, to, err))
	}
	names := make([]string, len(c.transforms))
	for i, f := range c.transforms {
		names[i] = f.Name()
	}
	local, remote := connAddrs(c.transport, raw, names, layers, c.addr)
	return &Conn{conn: top(raw, layers), local: local, remote: remote, stack: c.name, dialed: true}, nil
}

// attemptError says so when err ended an attempt because the attempt's
// own Timeout (to) ran out rather than the caller's ctx (parent).
func attemptError(parent, attempt context.Context, to time.Duration, err error) error {
	if parent.Err() == nil && errors.Is(attempt.Err(), context.DeadlineExceeded) {
		if !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		return fmt.Errorf("attempt timed out after %v (Dialer.Timeout): %w", to, err)
	}
	return err
}

// upgrade runs n transforms over raw, in order: step(i, conn) runs
// transform i over what transform i-1 returned. ctx bounds them all, even
// transforms that ignore it: when ctx ends, raw is closed (or abort is
// called, if not nil), which ends any I/O blocked on it. It returns the conn each transform returned. On
// failure everything is closed and failed is the index of the transform
// that failed (the last one if ctx ended just as it finished), or -1 if
// there are no transforms and ctx ended.
func upgrade(ctx context.Context, raw net.Conn, abort func(), n int, step func(i int, conn net.Conn) (net.Conn, error)) (layers []net.Conn, failed int, err error) {
	if abort == nil {
		abort = func() { raw.Close() }
	}
	stop := context.AfterFunc(ctx, abort)
	conn := raw
	layers = make([]net.Conn, 0, n)
	for i := range n {
		next, err := step(i, conn)
		if err != nil {
			stop()
			conn.Close()
			return nil, i, err
		}
		conn = next
		layers = append(layers, conn)
	}
	if !stop() { // ctx ended just as the last transform finished
		conn.Close()
		raw.Close()
		return nil, n - 1, ctx.Err()
	}
	return layers, 0, nil
}

// top is the conn at the top of a stack: the last layer, or raw.
func top(raw net.Conn, layers []net.Conn) net.Conn {
	if len(layers) == 0 {
		return raw
	}
	return layers[len(layers)-1]
}
