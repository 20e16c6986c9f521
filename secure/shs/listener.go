package shs

import (
	"context"
	"net"
)

// NewListener returns a listener whose Accept wraps each conn of inner in
// a server-side Conn. Accept returns at once: the handshake runs on the
// conn's first Read or Write (or Handshake), so a slow or silent client
// never delays other clients, and a failed handshake is reported to whoever
// uses that conn, never by Accept. cfg is shared by all conns; with a nil
// Identity they all use the one key cfg generates.
func NewListener(inner net.Listener, cfg *Config) net.Listener {
	return &listener{Listener: inner, cfg: cfg}
}

type listener struct {
	net.Listener
	cfg *Config
}

// Accept waits for the next raw conn and returns it as a *Conn whose
// handshake has not run yet.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.cfg), nil
}

// A Dialer dials and completes the client handshake. The zero value needs
// Config set before use.
type Dialer struct {
	// NetDialer dials the underlying conn; nil means a zero net.Dialer.
	NetDialer *net.Dialer

	// Config is the client configuration; ServerKey must be set.
	Config *Config
}

// Dial is DialContext with context.Background.
func (d *Dialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext connects to addr and runs the client handshake; ctx bounds
// both. The returned conn is a *Conn whose handshake has completed.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := d.NetDialer
	if nd == nil {
		nd = new(net.Dialer)
	}
	raw, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := Client(raw, d.Config)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}
