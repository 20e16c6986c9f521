// Package connbench holds the stream benchmark bodies that the packages'
// benchmarks share, so that every throughput table in BENCHMARKS.md is
// measured the same way (the baseline method of go-anchors.md §5): one
// conn made before the timer starts; an op moves Op bytes in Write-sized
// writes, and MB/s counts them once.
package connbench

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

const (
	Op    = 64 << 20 // bytes moved per benchmark op
	Write = 32 << 10 // size of each Write
)

// OneWay measures c → s: the server side reads and discards Op bytes,
// then acks with one byte. It closes both conns when done.
func OneWay(b *testing.B, c, s net.Conn) {
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, Write)
		for {
			for n := 0; n < Op; {
				k, err := s.Read(buf)
				if err != nil {
					done <- err
					return
				}
				n += k
			}
			if _, err := s.Write([]byte{1}); err != nil {
				done <- err
				return
			}
		}
	}()
	msg := make([]byte, Write)
	ack := make([]byte, 1)
	b.SetBytes(Op)
	b.ReportAllocs()
	for b.Loop() {
		for n := 0; n < Op; n += Write {
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := io.ReadFull(c, ack); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	s.Close()
	<-done
}

// Echo measures a round trip: a goroutine writes Op bytes to c while the
// benchmark reads them back; s copies everything it reads back through a
// Write-sized buffer. It closes both conns when done.
func Echo(b *testing.B, c, s net.Conn) {
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, Write)
		// The struct wrappers hide ReaderFrom/WriterTo, so every conn
		// type copies through the same buffer.
		io.CopyBuffer(struct{ io.Writer }{s}, struct{ io.Reader }{s}, buf)
	}()
	msg := make([]byte, Write)
	buf := make([]byte, Write)
	b.SetBytes(Op)
	b.ReportAllocs()
	for b.Loop() {
		errc := make(chan error, 1)
		go func() {
			for n := 0; n < Op; n += Write {
				if _, err := c.Write(msg); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for n := 0; n < Op; {
			k, err := c.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	s.Close()
	<-copied
}

// TLSConfigs returns a TLS 1.3 server config with a self-signed ed25519
// certificate and a client config that verifies it: the baseline's
// "TLS 1.3, ed25519 cert, X25519 only" (go-anchors.md §5), for comparing
// handshake figures measured in the same run.
func TLSConfigs(tb testing.TB) (server, client *tls.Config) {
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
