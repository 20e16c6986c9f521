package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
)

var dialCmd = &command{
	name:    "dial",
	args:    "ADDRS",
	summary: "dial ADDRS; pipe stdin/stdout, or tunnel a local TCP port (ssh -L)",
	detail: `Dial the first alternative of ADDRS that works (as printed by ms listen).
By default stdin is piped to the connection and the connection to stdout:
EOF on stdin half-closes the connection; ms exits when the peer has closed
and all of stdin is sent (at once if stdin is a terminal).

With --local, ms listens on a local TCP port instead (loopback when HOST is
empty), prints its address as the first line on stdout, and tunnels every
connection made to it over a new connection to ADDRS, like ssh -L. SIGINT
or SIGTERM stops it.

When the dial fails (wrong key, wrong app key, refused, not allowed,
timeout) ms prints one line on stderr and exits 1.

A dns:NAME alternative dials what NAME publishes in DNS (see ms resolve):
write dns:NAME~shs:KEY to accept only the key KEY. Without the pin, ms
trusts DNS, which is not authenticated, for the server's key, and says so.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		var o dialOpts
		o.keys.register(fs)
		o.dns.register(fs)
		fs.StringVar(&o.local, "local", "", "listen on the local TCP `HOST:PORT` and tunnel each connection to ADDRS (port 0 picks one)")
		fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up a dial (connect and handshake) after this `DURATION`")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 1 {
				e.errorf("want exactly one address argument, got %d (quote addresses: ';' and '~' are special in shells)", len(args))
				return exitUsage
			}
			return runDial(ctx, e, &o, args[0])
		}
	},
}

type dialOpts struct {
	keys    keyFlags
	dns     dnsFlags
	local   string
	timeout time.Duration
}

func runDial(ctx context.Context, e *env, o *dialOpts, addrs string) int {
	if o.timeout <= 0 {
		e.errorf("--timeout must be positive")
		return exitUsage
	}
	o.keys.warn = func(s string) { e.errorf("%s", s) }
	ident, err := o.keys.load()
	if err != nil {
		e.errorf("%v", err)
		return exitCode(err)
	}
	// The note on a fresh key goes after the dial, or into the one-line
	// error: with --allow on the server it is the likely cause.
	note := ident.fresh && usesShs(addrs)
	resolver, err := o.dns.resolver()
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	d := &ms.Dialer{Config: ms.Config{Identity: ident.priv, AppKey: ident.appKey, Transports: extraTransports()}, HandshakeTimeout: o.timeout}
	if resolver != nil {
		d.Resolver = resolver
	}
	warnUnpinned(e, addrs)
	dial := func(ctx context.Context) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		return d.DialContext(ctx, addrs)
	}
	if o.local != "" {
		// Dials happen per tunnelled conn: catch a bad address now.
		if err := checkDialAddr(addrs); err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
		if note {
			e.infof("%s", ident.note())
		}
		return runTunnel(ctx, e, o.local, dial)
	}
	c, err := dial(ctx)
	if err != nil {
		msg := dialFailure(err)
		// A fresh key matters only when the server turned this client away
		// after hearing it (an allow list); a refused connect or a bad
		// address is not about keys.
		if note && errors.Is(err, shs.ErrRejected) {
			msg += "; " + ident.note()
		}
		e.errorf("%s", msg)
		return exitCode(err)
	}
	if note {
		e.infof("%s", ident.note())
	}
	if hasDNS(addrs) {
		stk := "?"
		if mc, ok := c.(*ms.Conn); ok {
			stk = mc.Stack()
		}
		e.infof("connected over %s to %s", stk, c.RemoteAddr())
	}
	return pipeStdio(ctx, e, c)
}

// runTunnel listens on local and tunnels each conn over a new dial.
func runTunnel(ctx context.Context, e *env, local string, dial func(context.Context) (net.Conn, error)) int {
	host, port, err := net.SplitHostPort(local)
	if err != nil {
		e.errorf("--local: %v", err)
		return exitUsage
	}
	if host == "" {
		host = "127.0.0.1" // like ssh -L: loopback unless asked
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		e.errorf("%v", err)
		return exitFailure
	}
	defer ln.Close()
	fmt.Fprintln(e.stdout, ln.Addr().String())
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var t tracker
	defer t.shutdown()
	var n atomic.Int64
	for {
		c, err := ln.Accept()
		if err != nil {
			return acceptEnd(ctx, e, err)
		}
		id := n.Add(1)
		t.serve(c, func(c net.Conn) {
			e.infof("conn %d: from %s", id, c.RemoteAddr())
			r, err := dial(ctx)
			if err != nil {
				abort(c) // the local client must not read a normal end
				e.errorf("conn %d: %s", id, dialFailure(err))
				return
			}
			stk := "?"
			if mc, ok := r.(*ms.Conn); ok {
				stk = mc.Stack()
			}
			e.infof("conn %d: tunnel over %s, server key %s", id, stk, idOf(ms.RemoteKey(r)))
			out, in, err := pipe(c, r)
			logClosed(e, id, in, out, err)
		})
	}
}

// dialFailure describes a dial error on one line: per alternative, what
// probably went wrong, then the error itself.
func dialFailure(err error) string {
	var de *ms.DialError
	if !errors.As(err, &de) {
		return explain(err)
	}
	parts := make([]string, 0, len(de.Errs))
	for _, e := range de.Errs {
		var ae *ms.AltError
		if errors.As(e, &ae) {
			parts = append(parts, fmt.Sprintf("%s: %s", ae.Stack, explain(ae.Err)))
		} else {
			parts = append(parts, explain(e))
		}
	}
	what := "dial failed: "
	if exitCode(err) == exitUsage {
		what = "bad address: " // nothing was dialled
	}
	return what + strings.Join(parts, "; ")
}

// explain prefixes err with the likely cause a person can act on.
func explain(err error) string {
	var cause string
	var ne net.Error
	switch {
	case errors.Is(err, shs.ErrRejected):
		cause = "rejected by the server: wrong server key, or this client's key is not allowed"
	case errors.Is(err, shs.ErrNetworkKey):
		cause = "wrong app key (or the server does not speak shs)"
	case errors.Is(err, ms.ErrHandshake) && errors.Is(err, io.ErrUnexpectedEOF):
		// A server hangs up on a hello made with another app key.
		cause = "the server hung up during the handshake: wrong app key, or it does not speak shs"
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		// A server that accepts and aborts at once (ms dial --local whose
		// own dial failed, or whose server aborted the tunnelled conn) can
		// do so before this process has seen its connect complete: the
		// connect itself then fails with the reset.
		cause = "the peer reset the conn as soon as it was made: " + abrupt
	case errors.Is(err, os.ErrNotExist):
		cause = "no such socket"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		cause = "timed out"
	case errors.Is(err, context.Canceled):
		cause = "interrupted"
	}
	msg := oneLine(err.Error())
	if cause == "" {
		return msg
	}
	return cause + " (" + msg + ")"
}
