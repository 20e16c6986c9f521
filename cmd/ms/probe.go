package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

var probeCmd = &command{
	name:    "probe",
	args:    "ADDRS",
	summary: "dial each alternative of ADDRS on its own and say what works",
	detail: `Dial every alternative of ADDRS separately (not just the first that works)
and print one line per alternative on stdout: the alternative, the time to
connect the transport, the time of the handshake, and "ok" with the
server's key, or "FAIL" and the class of the failure:
  refused            nothing listens there, or the host is unreachable
  timeout            no answer within --timeout (connect or handshake)
  not-shs/app-key    the peer hung up on the shs hello: it does not speak
                     shs, or it uses another --app-key
  server-key/denied  the peer is not the key in the address, or it does
                     not admit this client's key (--secret)
  tls/http           a wss certificate or an HTTP reply that is not a
                     WebSocket upgrade
  dns                a dns: alternative gave nothing to dial (failed
                     lookup, no usable record, no record with the pin)
  unsupported        no stack for this alternative
  bad-address        the alternative is malformed (a bad key, for example)
  other              anything else (the error follows)
A dns:NAME alternative is resolved first (see ms resolve) and each
alternative it gives is probed on its own, its line saying which TXT
record it came from. It is what to run when a peer says "I can't reach you". Exit status 0 if
at least one alternative works, 1 if none does, 2 for a bad address.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		var o dialOpts
		o.keys.register(fs)
		o.dns.register(fs)
		fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up each alternative (connect and handshake) after this `DURATION`")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 1 {
				e.errorf("want exactly one address argument, got %d (quote addresses: ';' and '~' are special in shells)", len(args))
				return exitUsage
			}
			return runProbe(ctx, e, &o, args[0])
		}
	},
}

// probeResult is what probing one alternative found.
type probeResult struct {
	connect, handshake time.Duration
	connected, shook   bool   // the trace reported each phase
	class              string // "" when it worked
	err                error
	key                string
}

func runProbe(ctx context.Context, e *env, o *dialOpts, addrs string) int {
	if o.timeout <= 0 {
		e.errorf("--timeout must be positive")
		return exitUsage
	}
	m, err := msaddr.Parse(addrs)
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
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
	txt, err := o.dns.resolver()
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	warnUnpinned(e, addrs)
	ok, n := 0, 0
	probe := func(alt, label string) {
		r := probeOne(ctx, ident, o.timeout, alt)
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintln(e.stdout, r.line(label))
		n++
		if r.class == "" {
			ok++
		}
	}
	for _, a := range m {
		if !dnsaddr.IsDNS(a) {
			probe(a.String(), a.String())
		} else {
			rctx, cancel := context.WithTimeout(ctx, o.timeout)
			res, err := resolveLogged(rctx, e, txt, a)
			cancel()
			if errors.As(err, new(usageError)) {
				e.errorf("%v", err)
				return exitUsage
			}
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintf(e.stdout, "%s  connect -  handshake -  FAIL dns: %s\n", msaddr.Redact(a.String()), oneLine(err.Error()))
					n++
				}
			} else {
				for _, ra := range res.Alternatives {
					probe(ra.Addr.String(), ra.Addr.String()+" (from TXT "+ra.From+")")
				}
			}
		}
		if ctx.Err() != nil {
			e.errorf("interrupted")
			return exitFailure
		}
	}
	if ok == 0 {
		e.errorf("no alternative of %d works", n)
		return exitFailure
	}
	return exitOK
}

func probeOne(ctx context.Context, ident *identity, timeout time.Duration, alt string) probeResult {
	var r probeResult
	var connectErr, hsErr error
	reached := false
	d := &ms.Dialer{
		Config: ms.Config{
			Identity: ident.priv, AppKey: ident.appKey, Transports: extraTransports(),
			Trace: &ms.Trace{
				ConnectDone: func(i ms.ConnectInfo) {
					r.connect, connectErr, r.connected = i.Duration, i.Err, true
					reached = i.Err == nil
				},
				HandshakeDone: func(i ms.HandshakeInfo) { r.handshake, hsErr, r.shook = i.Duration, i.Err, true },
			},
		},
		HandshakeTimeout: timeout,
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := d.DialContext(ctx, alt)
	if err == nil {
		r.key = idOf(ms.RemoteKey(c))
		c.Close()
		return r
	}
	r.err = err
	if !reached {
		if connectErr != nil {
			err = connectErr
		}
		r.class = probeClass(err, false)
		return r
	}
	if hsErr != nil {
		err = hsErr
	}
	r.class = probeClass(err, true)
	return r
}

// probeClass sorts a failure into the classes ms probe -h lists.
func probeClass(err error, handshake bool) string {
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var rhe tls.RecordHeaderError
	switch reason := ms.FailureReason(err); {
	case errors.Is(err, ms.ErrNoStack):
		return "unsupported"
	case errors.Is(err, stack.ErrAddress):
		return "bad-address"
	case reason == ms.ReasonTimeout:
		return "timeout"
	case reason == ms.ReasonConnect:
		return "refused"
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &rhe),
		!handshake && strings.Contains(err.Error(), "WebSocket"):
		return "tls/http"
	case reason == ms.ReasonNetworkKey, handshake && reason == ms.ReasonEOF:
		return "not-shs/app-key"
	case reason == ms.ReasonServerKey, reason == ms.ReasonRejected, reason == ms.ReasonUnauthorized:
		return "server-key/denied"
	}
	return "other"
}

func (r probeResult) line(alt string) string {
	dur := func(d time.Duration, reached bool) string {
		if !reached {
			return "-"
		}
		return d.Round(10 * time.Microsecond).String()
	}
	s := fmt.Sprintf("%s  connect %s  handshake %s  ", alt, dur(r.connect, r.connected), dur(r.handshake, r.shook))
	if r.class == "" {
		return s + "ok  key " + r.key
	}
	return s + "FAIL " + r.class + ": " + oneLine(r.err.Error())
}
