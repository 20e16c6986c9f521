package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

var listenCmd = &command{
	name:    "listen",
	args:    "ADDRS",
	summary: "listen on every stack of ADDRS; pipe, echo or forward connections",
	detail: `Bind every alternative of ADDRS, such as
    'net:127.0.0.1:0~shs;ws://127.0.0.1:0~shs;unix:/tmp/ms/sock~noauth'
(listen sections name what to bind; shs takes no key, port 0 picks a free
port). The FIRST line on stdout is the listener's full advertised address,
with its key, usable by ms dial as is. Every connection is logged on stderr
with its stack and the client's key.

What happens to connections:
  default     the first connection is piped to stdin/stdout, like nc -l;
              EOF on stdin half-closes it; ms exits when the peer has
              closed and all of stdin is sent
  --echo      every connection is echoed back
  --forward   every connection is piped to a TCP service (the server half
              of a tunnel; see ms dial --local)

Web browsers: a ws~shs listener accepts WebSocket pages of any origin,
since shs authenticates by key; other ws stacks only pages from their own
host and port. --ws-origin replaces that with a list of allowed origins.
--http-dir serves a directory over plain HTTP on the ws ports and prints
the URL of its page with the ws~shs address in the query: with the page
that interop/browser builds (npm ci && npm run build, then
--http-dir interop/browser/dist) a browser echoes over ws~shs.
--http-proxy URL instead passes plain HTTP requests to a web app at URL
(a reverse proxy), so that the app and its shs peers share one port.

One port for several stacks: alternatives with the same host and port,
    'net:0.0.0.0:8008~shs;ws://0.0.0.0:8008~shs'
share one socket. Each connection's first bytes choose its stack (an shs
hello under the app key, an HTTP request); anything else is closed.

With --dns NAME, the lines after the address are the zone-file TXT
record that publishes it at NAME for the widest --scope given (load it
into the zone of NAME; clients then dial dns:NAME~shs:KEY):
    _multiserver.NAME. 300 IN TXT "net:...~shs:<key>;ws://...~shs:<key>"

SIGINT or SIGTERM stops accepting, closes the connections and the listener
(removing unix sockets) and exits 0; a second signal kills ms at once.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		var o listenOpts
		o.keys.register(fs)
		fs.Var(&o.allow, "allow", "admit only shs clients with this `KEY` (@id or base64); repeat for more keys")
		fs.BoolVar(&o.echo, "echo", false, "echo every connection back to its sender")
		fs.StringVar(&o.forward, "forward", "", "pipe every connection to the TCP service at `HOST:PORT`")
		fs.Var(&o.wsOrigins, "ws-origin", "let web pages from origins matching `PATTERN` open ws conns (host[:port] or scheme://host[:port], path.Match wildcards, * for any); repeat for more; default: any origin on ws~shs, the listener's own on other ws stacks")
		fs.StringVar(&o.httpDir, "http-dir", "", "serve the files of `DIR` over plain HTTP on the ws listeners' ports (a web page, such as the demo page of interop/browser)")
		fs.StringVar(&o.httpProxy, "http-proxy", "", "pass plain HTTP requests on the ws listeners' ports to the web app at `URL` (http://HOST:PORT[/PATH]), a reverse proxy")
		fs.StringVar(&o.dns, "dns", "", "after the address, print the DNS TXT record publishing it at the domain `NAME` (see ms resolve)")
		fs.StringVar(&o.scopes, "scope", "device", "where the listener is advertised and, for sections without a host, what it binds: comma-separated `SCOPES` among device, local, private, public")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 1 {
				e.errorf("want exactly one address argument, got %d (quote addresses: ';' and '~' are special in shells)", len(args))
				return exitUsage
			}
			return runListen(ctx, e, &o, args[0])
		}
	},
}

type listenOpts struct {
	keys      keyFlags
	allow     stringList
	echo      bool
	forward   string
	scopes    string
	wsOrigins stringList
	httpDir   string
	httpProxy string
	dns       string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// parseScopes parses a comma-separated list of scopes.
func parseScopes(s string) ([]ms.Scope, error) {
	var out []ms.Scope
	for _, f := range strings.Split(s, ",") {
		sc, err := stack.ParseScope(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// authorizer returns an Authorize hook admitting only the given keys.
func authorizer(keys []string) (func(context.Context, ed25519.PublicKey) (any, error), error) {
	allowed := map[string]bool{}
	for _, k := range keys {
		pub, err := shs.ParseID(k)
		if err != nil {
			return nil, fmt.Errorf("--allow: %w", err)
		}
		allowed[string(pub)] = true
	}
	return func(_ context.Context, remote ed25519.PublicKey) (any, error) {
		if !allowed[string(remote)] {
			return nil, errNotAllowed
		}
		return nil, nil
	}, nil
}

var errNotAllowed = errors.New("client key not in --allow")

// A usageError is about what the user wrote (a flag value); its message
// is that of the error it holds.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode is exitUsage for an error about the address or flags the user
// wrote, exitFailure for anything else (network, files).
func exitCode(err error) int {
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	for _, target := range []error{msaddr.ErrSyntax, stack.ErrAddress, ms.ErrNoStack, stack.ErrScope, ws.ErrOriginPattern} {
		if errors.Is(err, target) {
			return exitUsage
		}
	}
	return exitFailure
}

func runListen(ctx context.Context, e *env, o *listenOpts, addrs string) int {
	if o.echo && o.forward != "" {
		e.errorf("--echo and --forward exclude each other")
		return exitUsage
	}
	if o.forward != "" {
		_, port, err := net.SplitHostPort(o.forward)
		if err == nil {
			_, err = net.LookupPort("tcp", port)
		}
		if err != nil {
			e.errorf("--forward %s: %v", o.forward, err)
			return exitUsage
		}
	}
	scopes, err := parseScopes(o.scopes)
	if err != nil {
		e.errorf("--scope: %v", err)
		return exitUsage
	}
	if o.dns != "" {
		if _, err := dnsaddr.ParseName(msaddr.Section{Name: dnsaddr.Name, Args: []string{o.dns}}); err != nil {
			e.errorf("--dns: %v", err)
			return exitUsage
		}
	}
	var authorize func(context.Context, ed25519.PublicKey) (any, error)
	if len(o.allow) > 0 {
		if authorize, err = authorizer(o.allow); err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
	}
	o.keys.warn = func(s string) { e.errorf("%s", s) }
	ident, err := o.keys.load()
	if err != nil {
		e.errorf("%v", err)
		return exitCode(err)
	}
	if ident.fresh && usesShs(addrs) {
		e.infof("%s", ident.note())
	}
	wsT, err := wsTransport(e, o)
	if err != nil {
		e.errorf("%v", err)
		return exitCode(err)
	}
	// Conns are numbered in one sequence, failed handshakes included, so
	// that every log line of a conn carries its number and peer.
	var n atomic.Int64
	lc := ms.ListenConfig{
		Config: ms.Config{Identity: ident.priv, AppKey: ident.appKey, Authorize: authorize, Transports: append(extraTransports(), wsT),
			Trace: &ms.Trace{HandshakeDone: func(i ms.HandshakeInfo) {
				if i.Err != nil && ctx.Err() == nil {
					// The stack is said once, not again inside the error.
					msg := strings.Replace(i.Err.Error(), ms.ErrHandshake.Error()+": "+i.Stack+": ", "", 1)
					e.errorf("conn %d: %s from %s: handshake failed: %s", n.Add(1), i.Stack, peerOf(i.Remote), msg)
				}
			}}},
		Scopes: scopes,
		OnError: func(err error) {
			if !errors.Is(err, ms.ErrHandshake) { // logged with its peer by the trace
				e.errorf("%v", err)
			}
		},
	}
	ln, err := lc.Listen(ctx, addrs)
	if errors.Is(err, ws.ErrNoCertificate) {
		// The library's message names Go fields a CLI user cannot set.
		e.errorf("wss needs a TLS certificate and ms listen takes none: listen on ws:// behind a TLS-terminating proxy, or use the Go package with ws.Options.TLSConfig")
		return exitUsage
	}
	if err != nil {
		e.errorf("%v", err)
		return exitCode(err)
	}
	defer ln.Close()
	fmt.Fprintln(e.stdout, ln.Addr().String())
	if o.dns != "" {
		rec, err := ln.DNSRecord(o.dns, widest(scopes))
		if err != nil {
			e.errorf("--dns: %v", err)
			return exitFailure
		}
		fmt.Fprintln(e.stdout, rec)
	}
	if o.httpDir != "" {
		logPageURLs(e, ln.Addr().(*ms.Addr))
	}
	if o.forward != "" && len(o.allow) == 0 {
		e.errorf("warning: --forward without --allow: every client that knows the server key reaches %s", o.forward)
	}
	if len(o.allow) > 0 {
		for _, a := range ln.Addr().(*ms.Addr).Multi() {
			if !hasSection(a, "shs") {
				e.errorf("warning: --allow applies to shs only; %s admits clients without checking their key", stackName(a))
			}
		}
	}
	for _, a := range ln.Addr().(*ms.Addr).Multi() {
		if t := a.Transport(); t.Name == "serial" && len(t.Args) > 0 && strings.HasPrefix(t.Args[0], "/") {
			if _, err := os.Stat(t.Args[0]); err != nil {
				e.errorf("%s: %v; waiting for the device to appear (ms retries until it does; ^C stops)", t.Args[0], errors.Unwrap(err))
			}
		}
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	if !o.echo && o.forward == "" { // like nc -l: one conn on stdin/stdout
		c, err := ln.Accept()
		if err != nil {
			return acceptEnd(ctx, e, err)
		}
		ln.Close()
		logConn(e, n.Add(1), c)
		return pipeStdio(ctx, e, c)
	}

	var t tracker
	defer t.shutdown()
	for {
		c, err := ln.Accept()
		if err != nil {
			return acceptEnd(ctx, e, err)
		}
		id := n.Add(1)
		logConn(e, id, c)
		t.serve(c, func(c net.Conn) {
			if o.echo {
				echo(e, id, c)
			} else {
				forward(ctx, e, id, c, o.forward)
			}
		})
	}
}

// acceptEnd turns the error that ended an accept loop into an exit status:
// 0 after a signal, 1 if the listener failed.
func acceptEnd(ctx context.Context, e *env, err error) int {
	if ctx.Err() != nil && isClosed(err) {
		return exitOK
	}
	e.errorf("%v", err)
	return exitFailure
}

func hasSection(a msaddr.Address, name string) bool {
	for _, s := range a[1:] {
		if s.Name == name {
			return true
		}
	}
	return false
}

// logConn logs an accepted conn: its number, stack, peer and key.
func logConn(e *env, id int64, c net.Conn) {
	peer, stk := c.RemoteAddr().String(), "?"
	if mc, ok := c.(*ms.Conn); ok {
		stk = mc.Stack()
		if ra, ok := mc.RemoteAddr().(*ms.Addr); ok && len(ra.Multi()) > 0 {
			peer = ra.Multi()[0].Transport().String()
		}
	}
	e.infof("conn %d: %s from %s, key %s", id, stk, peer, idOf(ms.RemoteKey(c)))
}

// peerOf formats a transport's remote address for the log.
func peerOf(a net.Addr) string {
	switch {
	case a == nil:
		return "an unknown peer"
	case a.String() == "" || a.String() == "@":
		return "an unnamed " + a.Network() + " peer" // a unix socket client
	}
	return a.String()
}

func echo(e *env, id int64, c net.Conn) {
	n, err := copyFlow(c, c)
	if err == nil {
		halfClose(c)
	}
	c.Close()
	logClosed(e, id, n, n, err)
}

// forwardTimeout bounds the connect to the --forward service.
const forwardTimeout = 10 * time.Second

func forward(ctx context.Context, e *env, id int64, c net.Conn, target string) {
	d := net.Dialer{Timeout: forwardTimeout}
	t, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		// The client must not read this as a normal end.
		abort(c)
		e.errorf("conn %d: forward: %v; conn aborted", id, err)
		return
	}
	in, out, err := pipe(c, t)
	logClosed(e, id, in, out, err)
}

func logClosed(e *env, id, in, out int64, err error) {
	if err != nil && !isClosed(err) {
		e.errorf("conn %d: closed after %d bytes in, %d out: %v", id, in, out, err)
		return
	}
	e.infof("conn %d: closed after %d bytes in, %d out", id, in, out)
}
