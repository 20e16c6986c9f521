// Package onion is the multiserver "onion" transport: it dials tor onion
// services (and any other host) through a local tor SOCKS5 proxy. It is
// client only, as in JavaScript multiserver: to serve an onion address,
// run a net listener and point tor's HiddenServicePort at it.
//
// Addresses have the form onion:HOST:PORT, for example
//
//	onion:2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion:8008
//
// The last argument is the port and the arguments before it are the host,
// as for net. The host goes to the proxy as a name (SOCKS address type 3)
// and is never resolved on this machine: a .onion name must not reach DNS.
// IP literals are sent as addresses.
//
// Dial tries the proxies in Options.Proxies in order, by default
// 127.0.0.1:9050 (the tor daemon) and then 127.0.0.1:9150 (Tor Browser). It
// moves on to the next proxy only when one cannot be reached or does not
// speak SOCKS5; a SOCKS reply is final, since another tor would answer the
// same. Reply codes, including tor's onion service codes 0xF0–0xF7
// (ExtendedErrors in tor's SocksPort), come back as a *ReplyError that
// matches the sentinel errors of this package with errors.Is.
package onion
