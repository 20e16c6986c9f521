package shs_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// tlsConfigs returns a TLS 1.3 server config with a self-signed ed25519
// certificate and a client config that verifies it: the baseline's
// "TLS 1.3, ed25519 cert, X25519 only" (go-anchors.md §5), for comparing
// handshake figures measured in the same run.
func tlsConfigs(tb testing.TB) (server, client *tls.Config) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bench"},
		DNSNames:              []string{"bench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		Certificates:           []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv}},
		MinVersion:             tls.VersionTLS13,
		CurvePreferences:       []tls.CurveID{tls.X25519},
		SessionTicketsDisabled: true,
	}
	client = &tls.Config{
		RootCAs:                pool,
		ServerName:             "bench",
		MinVersion:             tls.VersionTLS13,
		CurvePreferences:       []tls.CurveID{tls.X25519},
		SessionTicketsDisabled: true,
	}
	return server, client
}

// BenchmarkTLSHandshakeTCP is BenchmarkHandshakeTCP with crypto/tls.
func BenchmarkTLSHandshakeTCP(b *testing.B) {
	scfg, ccfg := tlsConfigs(b)
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
	scfg, ccfg := tlsConfigs(tb)
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
