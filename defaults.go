package multiserver

import (
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/secure/shs"
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

// defaultTransforms returns the built-in transforms configured from c.
func defaultTransforms(c *Config) []stack.Transform {
	return []stack.Transform{
		noauth.New(nil),
		// The Dialer and ListenConfig bound every handshake through ctx
		// (their HandshakeTimeout); shs adds no timeout of its own.
		shs.NewTransform(&shs.Config{Identity: c.Identity, AppKey: c.AppKey, Authorize: c.Authorize, MaxBodySize: c.MaxFrameSize, HandshakeTimeout: -1}),
	}
}
