package stacktest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-multiserver/multiserver/internal/socks5test"
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The built-in transports that can listen. serial needs a pseudo-terminal
// pair and runs the suites in its own package (serialport); onion only
// dials and runs TestDialer below.
func TestBuiltinTransports(t *testing.T) {
	t.Run("net", func(t *testing.T) { stacktest.TestTransport(t, tcp.New(nil), "net:127.0.0.1:0") })
	t.Run("ws", func(t *testing.T) { stacktest.TestTransport(t, ws.New(nil), "ws://127.0.0.1:0") })
	t.Run("unix", func(t *testing.T) {
		// t.TempDir paths can exceed the 104/108-byte sun_path limit.
		dir, err := os.MkdirTemp("", "st")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		stacktest.TestTransport(t, unixsock.New(nil), "unix:"+filepath.Join(dir, "s"))
	})
	t.Run("wss", func(t *testing.T) {
		srv, cli := selfSigned(t)
		stacktest.TestTransport(t, ws.NewSecure(&ws.Options{TLSConfig: srv, ClientTLSConfig: cli}), "wss://127.0.0.1:0")
	})
	t.Run("mem", func(t *testing.T) { stacktest.TestTransport(t, stacktest.NewTransport("mem"), "mem") })
}

func TestBuiltinTransforms(t *testing.T) {
	t.Run("noauth", func(t *testing.T) { stacktest.TestTransform(t, noauth.New(nil)) })
	t.Run("shs", func(t *testing.T) {
		tr, err := shs.NewTransform(nil)
		if err != nil {
			t.Fatal(err)
		}
		stacktest.TestTransform(t, tr)
	})
	t.Run("shs-small-frames", func(t *testing.T) {
		tr, err := shs.NewTransform(&shs.Config{MaxFrameSize: shs.MaxPacketSize})
		if err != nil {
			t.Fatal(err)
		}
		stacktest.TestTransform(t, tr)
	})
}

// TestOnion runs the dial-only suite on onion: every conn goes through a
// fake SOCKS5 proxy (internal/socks5test), which relays a *.onion name to
// the same port on 127.0.0.1, where a fresh listener stands in for the
// onion service. onion cannot listen (Listen returns
// stack.ErrNotSupported), so TestTransport does not apply.
func TestOnion(t *testing.T) {
	proxy, err := socks5test.New(socks5test.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	tr := onion.New(&onion.Options{Proxies: []string{proxy.Addr()}})
	const name = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
	stacktest.TestDialer(t, tr, func(t *testing.T) stacktest.Peer {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		port := ln.Addr().(*net.TCPAddr).Port
		return stacktest.Peer{Dial: "onion:" + name + ":" + strconv.Itoa(port), Accept: ln.Accept}
	})
}

// selfSigned returns a server configuration with a fresh self-signed
// ECDSA certificate for 127.0.0.1 and a client configuration that trusts
// only it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stacktest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	return server, &tls.Config{RootCAs: roots}
}

// TestMemDialer: the in-memory transport passes TestDialer too, with the
// far end's close delivering EOF and without.
func TestMemDialer(t *testing.T) {
	for _, loses := range []bool{false, true} {
		t.Run("CloseLosesInput="+strconv.FormatBool(loses), func(t *testing.T) {
			mem := stacktest.NewTransport("mem")
			stacktest.TestDialer(t, mem, memPeers(mem, same, loses))
		})
	}
}
