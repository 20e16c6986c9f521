// Package multiserver dials and listens on multiserver addresses, where the
// protocol is part of the address.
//
// An address lists ways to reach a peer, separated by ';'. Each way is a
// transport followed by transforms, separated by '~':
//
//	net:example.com:8008~shs:<base64 ed25519 key>;ws://example.com:8989~shs:<key>
//
// A server runs several stacks side by side and advertises them all; a
// client dials one it understands. Upgrading a protocol means serving the
// new stack next to the old one, with no negotiation to attack.
//
// Dial and Listen have the shapes of net.Dial and net.Listen, so
// http.Server, gRPC and other stdlib-style code run over any stack
// unchanged:
//
//	ln, err := multiserver.Listen("net:127.0.0.1:8008~shs;unix:/run/app.sock~noauth")
//	...
//	conn, err := multiserver.Dial(ctx, ln.Addr().String())
//
// Built in: the transports net (TCP), unix, ws and wss (WebSocket) and
// onion (SOCKS5, dial only), and the transforms shs (Scuttlebutt secret
// handshake with box-stream encryption) and noauth. Serial links are in the
// opt-in package serialport. Custom transports and transforms implement
// the interfaces of package stack and are added through Config, exactly
// like the built-in ones.
//
// An alternative dns:NAME (pinned: dns:NAME~shs:KEY) dials what NAME
// publishes in TXT records at _multiserver.NAME: the Dialer looks them up
// (Dialer.Resolver) and dials the alternatives they hold in its place.
// Listener.DNSRecord prints the record that publishes a listener. See
// package dnsaddr.
//
// The address grammar lives in package msaddr; scopes (device, local,
// private, public) in package stack.
package multiserver
