package multiserver

import (
	"context"
	"crypto/ed25519"
	"net"
	"net/http"
	"strings"
	"time"
)

type connContextKey struct{}

// ConnContext stores c in ctx so that RemoteKeyFromContext and
// AuthFromContext can find the peer's key and authorization value in the
// context of each request made over c. Its signature is that of
// http.Server.ConnContext:
//
//	srv := &http.Server{Handler: h, ConnContext: multiserver.ConnContext}
//
// To combine it with a ConnContext of your own, call it from yours.
//
// http.Server and http.Serve take any net.Listener and run over a Listener
// unchanged. Its Accept returns only conns that finished their handshake,
// and an error only once it is closed or every stack has failed for good,
// so a failed or slow handshake never stops Serve. srv.Shutdown closes the listener and then each idle conn
// (for shs, sending the goodbye). Request.RemoteAddr is the peer's
// multiserver address (net:192.0.2.7:50122~shs:<key>), not host:port.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connContextKey{}, c)
}

// RemoteKeyFromContext returns the ed25519 key the peer proved in its
// handshake (shs) for the conn that ConnContext stored in ctx, such as a
// request's context. It returns nil if ctx holds no conn or the conn's
// stack authenticated no key (noauth). Do not modify the returned key.
func RemoteKeyFromContext(ctx context.Context) ed25519.PublicKey {
	c, _ := ctx.Value(connContextKey{}).(net.Conn)
	return RemoteKey(c)
}

// AuthFromContext returns what the listener's Config.Authorize returned
// for the peer of the conn that ConnContext stored in ctx, or nil.
func AuthFromContext(ctx context.Context) any {
	c, _ := ctx.Value(connContextKey{}).(net.Conn)
	return Auth(c)
}

// NewHTTPTransport returns an *http.Transport whose connections are
// multiserver conns dialed by d (nil means a zero Dialer). For each new
// connection it calls resolve with the "host:port" that http.Transport
// dials for the request URL (http://api/x gives "api:80"; IPv6 hosts come
// bracketed, "[::1]:80") and dials the multiserver address resolve
// returns, such as net:10.0.0.2:8008~shs:<server key>. Hosts.Resolve is a
// ready resolver; with a nil resolve every dial fails with ErrUnknownHost.
//
// Use http:// URLs: shs already authenticates the server by the key in the
// address and encrypts the stream. An https:// URL works too and runs TLS
// on top of the multiserver conn, verified against the URL's host name.
//
// Idle connections are kept and reused for later requests to the same URL
// host as with any http.Transport, so sequential requests share one shs
// conn and its handshake. Environment proxies are not used. The returned
// transport may be adjusted before its first use (for HTTP/2 over the
// encrypted conn, set Protocols with SetUnencryptedHTTP2 on both ends).
// d must not be modified once the transport is in use; set d.Config.Identity if
// the server must see the same client key on every connection.
func NewHTTPTransport(d *Dialer, resolve func(ctx context.Context, hostport string) (string, error)) *http.Transport {
	if d == nil {
		d = &Dialer{}
	}
	return &http.Transport{
		DialContext: func(ctx context.Context, _, hostport string) (net.Conn, error) {
			if resolve == nil {
				return nil, &net.DNSError{Err: ErrUnknownHost.Error() + " (no resolver)", Name: hostport, IsNotFound: true, UnwrapErr: ErrUnknownHost}
			}
			addr, err := resolve(ctx, hostport)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, addr)
		},
		// The values of http.DefaultTransport, without its proxy and its
		// forced HTTP/2 attempt (which only applies to https).
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// Hosts maps URL hosts to multiserver addresses, for NewHTTPTransport. A
// key is "host:port", which matches that port only, or a bare "host",
// which matches any port:
//
//	multiserver.Hosts{
//		"api":        "net:10.0.0.2:8008~shs:<key>",
//		"admin:8080": "unix:/run/app/admin.sock~noauth",
//	}
//
// Host names match without regard to case; write IPv6 hosts bracketed
// with a port ("[::1]:80") or bare without one ("::1").
type Hosts map[string]string

// Resolve returns the address h holds for hostport ("host:port", as
// http.Transport dials it), trying the exact "host:port" key before the
// bare host. For a host h does not hold it returns a *net.DNSError with
// IsNotFound set that wraps ErrUnknownHost.
func (h Hosts) Resolve(ctx context.Context, hostport string) (string, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	for _, k := range []string{hostport, host} {
		if a, ok := h[k]; ok {
			return a, nil
		}
	}
	for _, k := range []string{hostport, host} {
		for hk, a := range h {
			if strings.EqualFold(hk, k) {
				return a, nil
			}
		}
	}
	return "", &net.DNSError{Err: ErrUnknownHost.Error(), Name: hostport, IsNotFound: true, UnwrapErr: ErrUnknownHost}
}
