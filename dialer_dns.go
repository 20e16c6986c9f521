package multiserver

import (
	"context"
	"net"

	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
)

// dialAlt is one alternative to dial: as given, or resolved from a dns:
// alternative.
type dialAlt struct {
	index int    // position in the address as given
	from  string // the TXT name it came from, "" if given
	addr  msaddr.Address
}

// expandDNS replaces every dns: alternative of m by what it resolves to
// (package dnsaddr), in place. A dns: alternative that gives nothing has
// its error in errs; lookups lists every query made.
func (d *Dialer) expandDNS(ctx context.Context, st *stackSet, m msaddr.Multi) (alts []dialAlt, lookups []dnsaddr.Lookup, errs []error) {
	var r *dnsaddr.Resolver
	for i, a := range m {
		if !dnsaddr.IsDNS(a) {
			alts = append(alts, dialAlt{index: i, addr: a})
			continue
		}
		// Pins are checked like any section, before any lookup, and in
		// canonical form so that they compare equal to resolved sections.
		pinned, known := a.Clone(), true
		for j, s := range a[1:] {
			f, ok := st.transforms[s.Name]
			if !ok {
				known = false
				break
			}
			ep, err := parseEndpoint(f.Parse, s)
			if err != nil {
				errs = append(errs, &AltError{Index: i, Stack: addrStackName(a), Err: err})
				known = false
				break
			}
			pinned[j+1] = ep.Section()
		}
		if !known {
			continue
		}
		if r == nil {
			r = &dnsaddr.Resolver{TXT: d.Resolver}
			if d.Resolver == nil {
				r.TXT = net.DefaultResolver
			}
		}
		to := d.Timeout
		if to <= 0 {
			to = DefaultDialTimeout
		}
		rctx, cancel := context.WithTimeout(ctx, to)
		res, err := r.Resolve(rctx, pinned)
		cancel()
		if res != nil {
			lookups = append(lookups, res.Lookups...)
		}
		if err != nil {
			errs = append(errs, &AltError{Index: i, Stack: addrStackName(a), Err: err})
			continue
		}
		for _, ra := range res.Alternatives {
			alts = append(alts, dialAlt{index: i, from: ra.From, addr: ra.Addr})
		}
	}
	return alts, lookups, errs
}

// given returns the alternatives of m as dialAlts, unresolved.
func given(m msaddr.Multi) []dialAlt {
	alts := make([]dialAlt, len(m))
	for i, a := range m {
		alts[i] = dialAlt{index: i, addr: a}
	}
	return alts
}
