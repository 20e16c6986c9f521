package dnsaddr

import (
	"context"
	"errors"
	"net"
)

// Server returns a TXTResolver that asks only the DNS server at addr
// ("host:port"), over UDP and, for truncated answers, TCP, instead of the
// servers of the system's configuration. Its errors name addr as the
// server, where net.Resolver would name the configured one.
func Server(addr string) TXTResolver {
	return serverResolver{addr: addr, r: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}}
}

type serverResolver struct {
	addr string
	r    *net.Resolver
}

func (s serverResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	recs, err := s.r.LookupTXT(ctx, name)
	if de, ok := errors.AsType[*net.DNSError](err); ok {
		de.Server = s.addr
	}
	return recs, err
}
