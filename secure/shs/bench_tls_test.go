package shs_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/go-multiserver/multiserver/internal/connbench"
)

// BenchmarkTLSHandshakeTCP is BenchmarkHandshakeTCP with crypto/tls.
func BenchmarkTLSHandshakeTCP(b *testing.B) {
	scfg, ccfg := connbench.TLSConfigs(b)
	d := &tls.Dialer{Config: ccfg}
	benchConnect(b, func(ln net.Listener) net.Listener { return tls.NewListener(ln, scfg) }, d.Dial)
}

// BenchmarkTCPConnect is the floor of the handshake benchmarks: connect,
// one byte from the server, close.
func BenchmarkTCPConnect(b *testing.B) {
	benchConnect(b, func(ln net.Listener) net.Listener { return ln }, net.Dial)
}

// tlsTCP is a TLS 1.3 (AES-128-GCM on this hardware, X25519) pair over
// loopback TCP with the handshake done: the stream baseline the box-stream
// figures are compared with in the same run.
func tlsTCP(tb testing.TB) (net.Conn, net.Conn) {
	scfg, ccfg := connbench.TLSConfigs(tb)
	c1, c2 := tcpPair(tb)
	cc, sc := tls.Client(c1, ccfg), tls.Server(c2, scfg)
	errc := make(chan error, 1)
	go func() { errc <- sc.Handshake() }()
	if err := cc.Handshake(); err != nil {
		tb.Fatal(err)
	}
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
	return cc, sc
}

func BenchmarkTLSOneWay(b *testing.B) { benchOneWay(b, tlsTCP) }
func BenchmarkTLSEcho(b *testing.B)   { benchEcho(b, tlsTCP) }
