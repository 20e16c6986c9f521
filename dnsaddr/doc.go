// Package dnsaddr resolves the dns: alternatives of multiserver addresses
// and formats the DNS records that publish a listener.
//
// A peer publishes its stacks as TXT records at the dedicated label
// _multiserver.NAME; each record is one multiserver address (its
// character-strings joined without separator, as resolvers do), which may
// hold several ';' alternatives in the publisher's order of preference.
// A client dials
//
//	dns:example.com~shs:<key>
//
// and the dns: alternative is replaced, in place, by the alternatives the
// records hold. A resolved alternative that is itself dns:OTHER is resolved
// in turn, up to MaxDepth lookups deep and MaxAlternatives alternatives in
// all; loops are detected. See spec.md for the record format.
//
// # Trust
//
// DNS answers are not authenticated. The sections after dns:NAME pin what
// the resolved alternatives must carry: with dns:NAME~shs:KEY only
// alternatives whose shs section is exactly shs:KEY are kept, so a forged
// answer can deny service but cannot send the client to another identity.
// An unpinned dns:NAME trusts DNS for the key of the peer.
//
// Parsing (package msaddr, and ParseName here) never does I/O; only
// Resolver.Resolve looks names up.
package dnsaddr
