package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
)

var resolveCmd = &command{
	name:    "resolve",
	args:    "ADDRS",
	summary: "print what the dns: alternatives of ADDRS resolve to, and from where",
	detail: `Resolve every dns:NAME alternative of ADDRS the way ms dial does: look up
the TXT records at _multiserver.NAME, each one a multiserver address,
following dns: alternatives inside them (4 names deep, 32 alternatives at
most) and keeping, for dns:NAME~shs:KEY, only the alternatives with that
key. Print the alternatives ms dial would try, in order, one per line,
each followed by where it came from:
    net:192.0.2.1:8008~shs:<key>	from TXT _multiserver.example.com.
    unix:/run/app.sock~noauth	given
The lookups, records that do not parse and other problems are logged on
stderr. Exit status 1 if a dns: alternative gave nothing to dial.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		var dns dnsFlags
		dns.register(fs)
		timeout := fs.Duration("timeout", 10*time.Second, "give up the lookups after this `DURATION`")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 1 {
				e.errorf("want exactly one address argument, got %d (quote addresses: ';' and '~' are special in shells)", len(args))
				return exitUsage
			}
			return runResolve(ctx, e, &dns, *timeout, args[0])
		}
	},
}

// dnsFlags is --dns-server, shared by the commands that resolve dns:
// (dial, resolve, probe).
type dnsFlags struct{ server string }

func (f *dnsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.server, "dns-server", "", "look up dns: alternatives at the DNS server `HOST:PORT` instead of the system's resolver")
}

// resolver returns the resolver --dns-server asks for, or nil for the
// system's.
func (f *dnsFlags) resolver() (dnsaddr.TXTResolver, error) {
	if f.server == "" {
		return nil, nil
	}
	if _, port, err := net.SplitHostPort(f.server); err != nil {
		return nil, usageError{fmt.Errorf("--dns-server: %w", err)}
	} else if _, err := msaddr.ParsePort(port); err != nil {
		return nil, usageError{fmt.Errorf("--dns-server: %w", err)}
	}
	return dnsaddr.Server(f.server), nil
}

// dnsParser checks dns: sections for ms addr and ms dial --local.
type dnsParser struct{}

func (dnsParser) Parse(s msaddr.Section) (msaddr.Section, error) {
	name, err := dnsaddr.ParseName(s)
	if err != nil {
		return msaddr.Section{}, err
	}
	return msaddr.Section{Name: dnsaddr.Name, Args: []string{name}}, nil
}

// warnUnpinned logs, for every dns: alternative of addrs without an shs
// pin, that the key it leads to is DNS's word.
func warnUnpinned(e *env, addrs string) {
	m, err := msaddr.Parse(addrs)
	if err != nil {
		return
	}
	for _, a := range m {
		if dnsaddr.IsDNS(a) && !hasSection(a, "shs") {
			e.errorf("warning: %s is not pinned: the server key is whatever DNS answers, unauthenticated; pin it as %s~shs:KEY", a, a[0])
		}
	}
}

func hasDNS(addrs string) bool {
	m, err := msaddr.Parse(addrs)
	if err != nil {
		return false
	}
	for _, a := range m {
		if dnsaddr.IsDNS(a) {
			return true
		}
	}
	return false
}

// widest returns the widest of scopes, the one a DNS name publishes.
func widest(scopes []ms.Scope) ms.Scope {
	rank := map[ms.Scope]int{ms.Device: 0, ms.Local: 1, ms.Private: 2, ms.Public: 3}
	w := scopes[0]
	for _, s := range scopes[1:] {
		if rank[s] > rank[w] {
			w = s
		}
	}
	return w
}

func runResolve(ctx context.Context, e *env, f *dnsFlags, timeout time.Duration, addrs string) int {
	if timeout <= 0 {
		e.errorf("--timeout must be positive")
		return exitUsage
	}
	txt, err := f.resolver()
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	if err := checkDialAddr(addrs); err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	m, _ := msaddr.Parse(addrs) // checkDialAddr parsed it
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	warnUnpinned(e, addrs)
	code := exitOK
	for _, a := range m {
		if !dnsaddr.IsDNS(a) {
			fmt.Fprintf(e.stdout, "%s\tgiven\n", msaddr.Redact(a.String()))
			continue
		}
		res, err := resolveLogged(ctx, e, txt, a)
		if err != nil {
			e.errorf("%v", err)
			code = exitFailure
			continue
		}
		for _, alt := range res.Alternatives {
			fmt.Fprintf(e.stdout, "%s\tfrom TXT %s\n", msaddr.Redact(alt.Addr.String()), alt.From)
		}
	}
	return code
}

// resolveLogged resolves the dns: alternative a as ms dial does (pins
// in canonical form) and logs the lookups and, when something usable is
// left, the problems met on the way; the error says them otherwise.
func resolveLogged(ctx context.Context, e *env, txt dnsaddr.TXTResolver, a msaddr.Address) (*dnsaddr.Result, error) {
	_, transforms := parsers()
	pinned := a.Clone()
	for j, s := range a[1:] {
		if p, ok := transforms[s.Name]; ok {
			c, err := p.Parse(s)
			if err != nil {
				return nil, usageError{fmt.Errorf("%s: %w", a[0], err)}
			}
			pinned[j+1] = c
		}
	}
	r := dnsaddr.Resolver{TXT: txt}
	res, err := r.Resolve(ctx, pinned)
	if res == nil {
		return nil, err
	}
	for _, l := range res.Lookups {
		if l.Err != nil {
			e.infof("TXT %s: %v", l.Name, l.Err)
		} else {
			e.infof("TXT %s: %d records", l.Name, len(l.Records))
		}
	}
	if err == nil { // else err says them
		for _, p := range res.Problems {
			e.errorf("warning: %s: %v", a[0], p)
		}
	}
	return res, err
}
