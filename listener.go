package multiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// DefaultMaxHandshakes is the default bound on handshakes in flight per
// Listener (ListenConfig.MaxHandshakes).
const DefaultMaxHandshakes = 1024

// ListenConfig listens on multiserver addresses. The zero value is ready to
// use. It checks its configuration and builds its plugins on first use; do
// not modify it after that.
//
// The limits protect a listener on the open internet from slow or silent
// clients (slowloris), handshake floods and port scanners. Handshakes run
// off the Accept path, one goroutine each; the listener never runs more
// than MaxHandshakes of them, and each ends by HandshakeTimeout. A conn
// holds its handshake slot from the start of its handshake until Accept
// returns it, so a program that stops calling Accept stops the listener
// rather than piling up conns. See SECURITY.md for the threat model.
type ListenConfig struct {
	Config Config

	// Scopes are the scopes every stack is advertised in, and the ones
	// that choose the bind host when a section names none. Nil means
	// device only.
	Scopes []Scope

	// HandshakeTimeout bounds the transforms (the shs handshake) of each
	// accepted conn, from the start of its handshake; a conn still
	// handshaking then is closed, whatever the transform does. Zero means
	// DefaultHandshakeTimeout (10s); a negative value means no bound, as
	// in package shs, which leaves a listener reachable by untrusted
	// clients open to slowloris: use it only where every client is
	// trusted.
	HandshakeTimeout time.Duration

	// HandshakeStepTimeout bounds each step of a handshake whose
	// transform reports its steps (stack.HandshakeProgress; shs does: its
	// start, the client's hello, the client's authentication): a conn
	// that makes no step for that long is closed. Zero or negative means
	// DefaultHandshakeStepTimeout (5s). HandshakeTimeout still bounds the
	// whole.
	HandshakeStepTimeout time.Duration

	// MaxHandshakes bounds the handshakes in flight over all stacks of the
	// listener; a conn holds its slot from the moment its stack accepts
	// it until Accept returns it (a ws or wss conn from its TCP accept,
	// its HTTP phase included: see stack.AcceptGate). When all are taken,
	// a new conn takes the slot of the handshake that has gone longest
	// without progress (since its start, or its transform's last step),
	// which is closed and reported to OnError wrapping ErrShed: stalled
	// handshakes cannot make new clients wait, on any stack. Only conns
	// waiting for their peer are shed: not finished handshakes waiting for
	// Accept, nor ws conns whose request arrived and that wait for the
	// server (stack.ServerTurn). When those hold every slot, each stack
	// holds at most one more conn, waiting for a slot, and takes no other
	// from its transport: new clients wait in the kernel's accept
	// backlog. Zero or negative means DefaultMaxHandshakes (1024).
	MaxHandshakes int

	// MaxHandshakesPerIP, if positive, bounds the handshakes in flight
	// from one source: one IPv4 address, or one IPv6 /64, counted as
	// MaxHandshakes counts them. A conn beyond it is closed at once,
	// before any handshake byte (for ws, before its request is read;
	// with the ws TrustForwardedFor option, at the upgrade, by the
	// forwarded source), and reported to
	// OnError wrapping ErrOverLimit; it does not count against
	// MaxHandshakes. Conns without an IP source (unix sockets) are not
	// limited. Zero or negative means no per-source limit, the default,
	// because many legitimate clients can share one address behind NAT.
	MaxHandshakesPerIP int

	// OnError, if not nil, is told about every conn that failed its
	// handshake or was refused by a limit, and every accept error a stack
	// recovered from. It is called from the listener's goroutines,
	// possibly concurrently, and must not block for long. Failed conns are
	// never returned from Accept.
	OnError func(error)

	// Policy, if not nil, decides for each conn a stack accepts, before
	// any handshake byte, whether its handshake runs; a refused conn is
	// closed at once and reported to OnError wrapping ErrRefused. The
	// decision after the handshake is Config.Authorize.
	Policy AcceptPolicy

	resolved resolved
}

// Listen listens on addrs with a zero ListenConfig. See
// ListenConfig.Listen.
func Listen(addrs string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(context.Background(), addrs)
}

// A Listener accepts conns on several stacks at once. Its Accept returns
// only conns whose transforms finished; handshakes run concurrently off the
// Accept path.
type Listener struct {
	lc     *ListenConfig
	stacks []*listenStack
	addr   *Addr
	shared []*sharedSocket // sockets several stacks share

	conns     chan *Conn
	closed    chan struct{}
	closeOnce sync.Once
	ctx       context.Context // cancelled by Close; bounds handshakes
	cancel    context.CancelFunc
	slots     *slots         // handshakes in flight
	perIP     *sourceLimiter // nil without MaxHandshakesPerIP
	timeout   time.Duration  // handshake timeout
	stepTO    time.Duration  // handshake step timeout
	wg        sync.WaitGroup

	mu      sync.Mutex
	live    int           // stacks still accepting
	lastErr error         // why the last stack stopped
	dead    chan struct{} // closed when no stack accepts any more
}

type listenStack struct {
	name       string
	transport  stack.Transport
	ln         stack.Listener
	transforms []stack.ServerTransform
	names      []string
}

// Listen binds every alternative of addrs, such as
//
//	net:127.0.0.1:0~shs;ws://127.0.0.1:0~shs;unix:/run/app/sock~noauth
//
// and returns one Listener over all of them. Listen sections name what to
// bind, without keys: the shs section is plain "shs" and the listener
// advertises its key, the same on every stack. Port 0 picks a free port.
// If any stack fails to bind, the others are closed and the error says
// which one failed. A configuration no listener could work with is
// reported before anything is bound, wrapping ErrInvalidConfig.
func (lc *ListenConfig) Listen(ctx context.Context, addrs string) (*Listener, error) {
	st, err := lc.resolved.stacks(&lc.Config)
	if err != nil {
		return nil, err
	}
	m, err := msaddr.Parse(addrs)
	if err != nil {
		return nil, err
	}
	scopes := lc.Scopes
	if len(scopes) == 0 {
		scopes = []Scope{Device}
	}
	for _, sc := range scopes {
		if _, err := stack.ParseScope(string(sc)); err != nil {
			return nil, fmt.Errorf("%w: ListenConfig.Scopes: %w", ErrInvalidConfig, err)
		}
	}
	l := &Listener{lc: lc, conns: make(chan *Conn), closed: make(chan struct{}), dead: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	max := lc.MaxHandshakes
	if max <= 0 {
		max = DefaultMaxHandshakes
	}
	l.slots = newSlots(max)
	l.perIP = newSourceLimiter(lc.MaxHandshakesPerIP)
	l.timeout = lc.HandshakeTimeout
	if l.timeout == 0 {
		l.timeout = DefaultHandshakeTimeout
	}
	l.stepTO = lc.HandshakeStepTimeout
	if l.stepTO <= 0 {
		l.stepTO = DefaultHandshakeStepTimeout
	}
	shared, err := l.sharedSockets(ctx, st, m, scopes)
	closeShared := func() {
		for _, ss := range shared {
			if ss.ln != nil {
				ss.ln.Close()
			}
		}
	}
	if err != nil {
		closeShared()
		l.cancel()
		return nil, err
	}
	fail := func(i int, a msaddr.Address, err error) (*Listener, error) {
		for _, s := range l.stacks {
			s.ln.Close()
		}
		closeShared()
		l.cancel()
		return nil, fmt.Errorf("multiserver: listen on alternative %d (%s): %w", i+1, addrStackName(a), err)
	}
	// Every alternative's plugins are looked up before anything is bound.
	type plugins struct {
		t  stack.Transport
		fs []stack.Transform
	}
	found := make([]plugins, len(m))
	for i, a := range m {
		t, fs, err := st.lookup(a)
		if err != nil {
			return fail(i, a, err)
		}
		found[i] = plugins{t, fs}
	}
	for i, a := range m {
		t, fs := found[i].t, found[i].fs
		ls := &listenStack{name: addrStackName(a), transport: t}
		tctx := stack.WithAcceptGate(ctx, l.acceptGate(ls))
		for _, f := range fs {
			if pa, ok := f.(stack.PeerAuthenticator); ok && pa.AuthenticatesPeer() {
				tctx = stack.WithPeerAuthentication(tctx)
			}
		}
		var tl stack.Listener
		if ss := shared[i]; ss != nil {
			tl, err = t.(stack.SharedTransport).ListenOn(tctx, a[0], scopes, ss.listener(i))
		} else {
			tl, err = t.Listen(tctx, a[0], scopes)
		}
		if err != nil {
			return fail(i, a, err)
		}
		ls.ln = tl
		l.stacks = append(l.stacks, ls)
		for j, f := range fs {
			sf, err := f.Listen(a[j+1], tl)
			if err != nil {
				return fail(i, a, err)
			}
			ls.transforms = append(ls.transforms, sf)
			ls.names = append(ls.names, f.Name())
		}
	}
	for i, ss := range shared {
		if ss.hello == nil || ss.hello.alt != i {
			continue
		}
		if s := l.stacks[i]; len(s.transforms) > 0 {
			ss.recognize, _ = s.transforms[0].(stack.HelloRecognizer)
		}
		if ss.recognize == nil {
			return fail(i, m[i], fmt.Errorf("%w: %s cannot share the port %s: it has no first transform whose client hello can be recognised exactly (shs)", ErrInvalidConfig, addrStackName(m[i]), ss.address))
		}
	}
	seen := map[*sharedSocket]bool{}
	for i := range m {
		if ss := shared[i]; ss != nil && !seen[ss] {
			seen[ss] = true
			l.shared = append(l.shared, ss)
		}
	}
	l.addr = NewAddr(l.advertise(scopes...))
	l.live = len(l.stacks)
	for _, ss := range l.shared {
		l.wg.Add(1)
		go l.demux(ss)
	}
	for _, s := range l.stacks {
		l.wg.Add(1)
		go l.acceptLoop(s)
	}
	return l, nil
}

// advertise returns the stacks' addresses for the given scopes, without
// duplicates, stacks in listen order.
func (l *Listener) advertise(scopes ...Scope) msaddr.Multi {
	var m msaddr.Multi
	seen := map[string]bool{}
	for _, s := range l.stacks {
		for _, sc := range scopes {
			for _, ts := range s.ln.Advertise(sc) {
				a := msaddr.Address{ts}
				for _, f := range s.transforms {
					a = append(a, f.Advertise())
				}
				if k := a.String(); !seen[k] {
					seen[k] = true
					m = append(m, a)
				}
			}
		}
	}
	return m
}

// Addr returns the full advertised address of the listener in all its
// scopes, with keys, as a *Addr; its String form can be passed to Dial.
func (l *Listener) Addr() net.Addr { return l.addr }

// Address returns the address advertised in scope: the stacks reachable
// from there, each with the keys a client needs. It is empty if no stack
// is reachable from scope.
func (l *Listener) Address(scope Scope) msaddr.Multi { return l.advertise(scope) }

// Accept waits for the next conn that finished its handshake. After Close
// it returns an error wrapping net.ErrClosed. It returns another error only
// when every stack's listener has failed for good.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, &net.OpError{Op: "accept", Net: "multiserver", Addr: l.addr, Err: net.ErrClosed}
	case <-l.dead:
		select {
		case c := <-l.conns: // handshakes that finished before the end
			return c, nil
		case <-l.closed:
			return nil, &net.OpError{Op: "accept", Net: "multiserver", Addr: l.addr, Err: net.ErrClosed}
		default:
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return nil, l.lastErr
	}
}

// Close stops every stack, aborts handshakes in flight, and waits for the
// listener's goroutines to end. Conns already returned by Accept stay
// open.
func (l *Listener) Close() error {
	var errs []error
	l.closeOnce.Do(func() {
		close(l.closed)
		l.cancel()
		for _, s := range l.stacks {
			if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		for _, ss := range l.shared {
			if err := ss.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
	})
	l.wg.Wait()
	return errors.Join(errs...)
}

func (l *Listener) report(err error) {
	if l.lc.OnError != nil {
		l.lc.OnError(err)
	}
}

func (l *Listener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

func (l *Listener) acceptLoop(s *listenStack) {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			if l.isClosed() {
				return
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				l.report(fmt.Errorf("multiserver: accept on %s: %w (retrying in %v)", s.name, err, backoff))
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-l.closed:
					t.Stop()
					return
				}
				continue
			}
			l.stackDone(s, err)
			return
		}
		backoff = 0
		g := gatedOf(raw) // a conn its transport or a shared port counted already
		if g != nil && g.left() {
			g = nil
		}
		drop := raw.Close
		if g != nil {
			// Closed unhandled: the TCP conn first, so that closing raw
			// (a ws conn) runs no close handshake.
			drop = func() error {
				g.Conn.Close()
				return raw.Close()
			}
		}
		if l.lc.Policy != nil {
			if err := refused(l.lc.Policy(Source{Stack: s.name, Remote: raw.RemoteAddr(), Scope: sourceScope(raw.RemoteAddr())})); err != nil {
				drop()
				err = fmt.Errorf("%s: %v closed unhandled: %w", s.name, raw.RemoteAddr(), err)
				l.traceAccept(s, raw.RemoteAddr(), err)
				l.report(err)
				continue
			}
		}
		if g != nil {
			if !g.count(raw.RemoteAddr()) {
				drop()
				err := l.overLimit(s, raw.RemoteAddr())
				l.traceAccept(s, raw.RemoteAddr(), err)
				l.report(err)
				continue
			}
			sl, release, ok := g.claim()
			if !ok { // shed or timed out on its way here
				drop()
				continue
			}
			sl.resume()
			l.traceAccept(s, raw.RemoteAddr(), nil)
			l.wg.Add(1)
			go l.handshake(s, raw, release, sl, g)
			continue
		}
		release, ok := l.perIP.acquire(raw.RemoteAddr())
		if !ok {
			raw.Close()
			err := l.overLimit(s, raw.RemoteAddr())
			l.traceAccept(s, raw.RemoteAddr(), err)
			l.report(err)
			continue
		}
		l.traceAccept(s, raw.RemoteAddr(), nil)
		// Taking the slot after Accept (not before) keeps a stack
		// without clients from holding a slot that another stack's
		// clients need. acquire sheds the most stalled handshake if
		// needed; it waits only while finished handshakes wait for
		// Accept (backpressure: later clients wait in the kernel's
		// backlog).
		sl := newSlot(l.ctx, l.stepTO, l.slots)
		if !l.slots.acquire(sl, l.closed) {
			sl.end()
			release()
			raw.Close()
			return
		}
		l.wg.Add(1)
		go l.handshake(s, raw, release, sl, nil)
	}
}

func (l *Listener) traceAccept(s *listenStack, remote net.Addr, err error) {
	if t := l.lc.Config.Trace; t != nil && t.Accept != nil {
		t.Accept(AcceptInfo{Stack: s.name, Remote: remote, Err: err, Reason: FailureReason(err)})
	}
}

// stackDone records that a stack's listener failed for good; when the last
// one does, Accept reports it.
func (l *Listener) stackDone(s *listenStack, err error) {
	err = fmt.Errorf("multiserver: accept on %s: %w", s.name, err)
	l.report(err)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live--
	l.lastErr = err
	if l.live == 0 {
		close(l.dead)
	}
}

// isTemporary reports accept errors worth retrying: timeouts, too many
// open files, aborted conns.
func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// handshake runs the transforms of s over raw and hands the result to
// Accept. It owns sl, a slot of l.slots, and the per-source slot release
// frees. g, if not nil, is the conn under raw that held sl before: it
// closes the TCP conn at once if sl is shed, and is detached from sl
// when the handshake finished.
func (l *Listener) handshake(s *listenStack, raw net.Conn, release func(), sl *slot, g *gatedConn) {
	defer l.wg.Done()
	defer l.slots.release(sl)
	defer sl.end()
	defer release()
	tr := l.lc.Config.Trace
	var info HandshakeInfo
	var start time.Time
	if tr != nil {
		info = HandshakeInfo{Stack: s.name, Remote: raw.RemoteAddr()}
		if tr.HandshakeStart != nil {
			tr.HandshakeStart(info)
		}
		start = time.Now()
	}
	ctx, cancel := withHandshakeTimeout(sl.ctx, l.timeout)
	defer cancel()
	var abort func()
	if g != nil {
		// Shed or timed out: drop the TCP conn first, so that closing
		// raw (a ws conn) does not run a close handshake with a peer
		// that was shed for saying nothing.
		abort = func() {
			g.Conn.Close()
			raw.Close()
		}
	}
	layers, failed, err := upgrade(ctx, raw, abort, len(s.transforms), func(i int, conn net.Conn) (net.Conn, error) {
		return s.transforms[i].Server(ctx, conn)
	})
	if err == nil && (!l.slots.finished(sl) || g != nil && !g.detach()) {
		// Shed just as it finished.
		top(raw, layers).Close()
		raw.Close()
		err, failed = context.Cause(sl.ctx), len(layers)-1
	}
	if err != nil {
		if failed >= 0 {
			switch cause := context.Cause(ctx); {
			case ctx.Err() == nil:
			case cause == ErrShed:
				err = fmt.Errorf("%w: %s gone longest without progress (%w)", ErrShed, raw.RemoteAddr(), err)
			case cause == errStepTimeout:
				err = fmt.Errorf("timed out: no progress within %v (HandshakeStepTimeout): %w (%w)", l.stepTO, context.DeadlineExceeded, err)
			case !errors.Is(err, ctx.Err()):
				err = fmt.Errorf("timed out after %v: %w (%w)", l.timeout, ctx.Err(), err)
			}
			err = handshakeError(s.name, s.names[failed], err)
			if !l.isClosed() {
				l.report(err)
			}
		}
		if tr != nil && tr.HandshakeDone != nil {
			info.Err, info.Reason, info.Duration = err, FailureReason(err), time.Since(start)
			tr.HandshakeDone(info)
		}
		return
	}
	local, remote := connAddrs(s.transport, raw, s.names, layers, nil)
	c := &Conn{conn: top(raw, layers), local: local, remote: remote, stack: s.name}
	if tr != nil {
		if tr.HandshakeDone != nil {
			info.Conn, info.Duration = c, time.Since(start)
			tr.HandshakeDone(info)
		}
		traced(tr, c, false)
	}
	if set := l.lc.Config.ConnSet; set != nil {
		if err := set.Add(c); err != nil {
			if !l.isClosed() {
				l.report(fmt.Errorf("%s: %w", s.name, err))
			}
			return
		}
	}
	// The slot is held until Accept takes the conn, so a program that stops
	// calling Accept stops the listener instead of piling up conns.
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}
