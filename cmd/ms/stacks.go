package main

import (
	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/serialport"
	"github.com/go-multiserver/multiserver/stack"
)

// extraTransports are the transports ms adds to the root package's
// defaults: serial, which the library leaves opt-in.
func extraTransports() []stack.Transport {
	return []stack.Transport{serialport.New(nil)}
}

// A sectionParser checks a dial section without I/O and returns its
// canonical form: the Parse method shared by transports and transforms.
type sectionParser interface {
	Parse(s msaddr.Section) (msaddr.Section, error)
}

// parsers returns the section checkers of the stacks ms dials (the
// root package's defaults and serial), by name: transports first, then
// transforms.
func parsers() (transports, transforms map[string]sectionParser) {
	transports = map[string]sectionParser{
		tcp.Name:        tcp.New(nil),
		unixsock.Name:   unixsock.New(nil),
		"ws":            ws.New(nil),
		"wss":           ws.NewSecure(nil),
		onion.Name:      onion.New(nil),
		serialport.Name: serialport.New(nil),
		dnsaddr.Name:    dnsParser{}, // not a transport: ms dial resolves it first
	}
	shsTransform, err := shs.NewTransform(nil)
	if err != nil {
		panic(err) // cannot happen: a nil Config is valid
	}
	transforms = map[string]sectionParser{
		noauth.Name: noauth.New(nil),
		shs.Name:    shsTransform,
	}
	return transports, transforms
}
