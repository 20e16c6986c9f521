package dnsaddr

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrName reports a dns: section that does not name a valid domain.
	ErrName = errors.New("dnsaddr: invalid dns: section")
	// ErrLookup wraps a failed TXT lookup (NXDOMAIN, no records,
	// timeout); the resolver's own error is wrapped as well.
	ErrLookup = errors.New("dnsaddr: lookup failed")
	// ErrRecord reports a TXT record that is not a multiserver address.
	ErrRecord = errors.New("dnsaddr: unusable record")
	// ErrLoop reports a dns: alternative that leads back to a name being
	// resolved.
	ErrLoop = errors.New("dnsaddr: dns: names form a loop")
	// ErrDepth reports dns: alternatives nested deeper than MaxDepth.
	ErrDepth = errors.New("dnsaddr: dns: names nested too deep")
	// ErrTooMany reports an expansion with more than MaxAlternatives
	// alternatives.
	ErrTooMany = errors.New("dnsaddr: too many alternatives")
	// ErrPin reports records whose alternatives all lack the pinned
	// sections.
	ErrPin = errors.New("dnsaddr: no alternative matches the pin")
	// ErrNoAlternative is wrapped by the error of a dns: alternative that
	// gave nothing to dial, next to the reasons why.
	ErrNoAlternative = errors.New("dnsaddr: no usable alternative")
)
