package multiserver

import (
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/stack"
)

// defaultTransports returns fresh instances of the built-in transports.
func defaultTransports() []stack.Transport {
	return []stack.Transport{
		tcp.New(nil),
		unixsock.New(nil),
		ws.New(nil),
		ws.NewSecure(nil), // dials with the system roots; listening needs Config.Transports with a certificate
		onion.New(nil),
	}
}

// defaultTransforms returns fresh instances of the built-in transforms
// that need no configuration; the resolver adds shs, which does.
func defaultTransforms() []stack.Transform {
	return []stack.Transform{noauth.New(nil)}
}
