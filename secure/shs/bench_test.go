package shs_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"runtime"
	"testing"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/go-multiserver/multiserver/internal/connbench"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
	"github.com/go-multiserver/multiserver/secure/shs/internal/xsalsa"
)

// The stream benchmarks are internal/connbench's: one conn made before
// the timer starts, an op moves 64 MiB in 32 KiB writes.

// BenchmarkSecretbox4K is the crypto ceiling: seal and open 4096-byte
// box-stream bodies, one core. An op is 64 MiB like the stream benchmarks,
// so one -benchtime=Nx measures all of them in the same run.
func BenchmarkSecretbox4K(b *testing.B) {
	var key [32]byte
	var nonce [24]byte
	rand.Read(key[:])
	msg := make([]byte, 4096)
	box := make([]byte, 0, 4096+secretbox.Overhead)
	out := make([]byte, 0, 4096)
	b.SetBytes(connbench.Op)
	b.ReportAllocs()
	for b.Loop() {
		for n := 0; n < connbench.Op; n += len(msg) {
			box = secretbox.Seal(box[:0], msg, &nonce, &key)
			var ok bool
			if out, ok = secretbox.Open(out[:0], box, &nonce, &key); !ok {
				b.Fatal("open failed")
			}
		}
	}
}

// BenchmarkXSalsa4K is BenchmarkSecretbox4K with this package's own
// XSalsa20-Poly1305 (internal/xsalsa, subkey cached as box-stream uses
// it): the ceiling of box-stream as it is built.
func BenchmarkXSalsa4K(b *testing.B) {
	var key [32]byte
	var nonce [24]byte
	rand.Read(key[:])
	var s xsalsa.Sequence
	s.Init(&key, &nonce)
	msg := make([]byte, 4096)
	box := make([]byte, 0, 4096+xsalsa.Overhead)
	out := make([]byte, 0, 4096)
	b.SetBytes(connbench.Op)
	b.ReportAllocs()
	for b.Loop() {
		for n := 0; n < connbench.Op; n += len(msg) {
			box = s.Seal(box[:0], msg, 0)
			var ok bool
			if out, ok = s.Open(out[:0], box, 0); !ok {
				b.Fatal("open failed")
			}
		}
	}
}

type benchPair func(testing.TB) (client, server net.Conn)

func rawTCP(tb testing.TB) (net.Conn, net.Conn) { return tcpPair(tb) }

func shsTCP(tb testing.TB) (net.Conn, net.Conn) {
	c1, c2 := tcpPair(tb)
	cc, sc := handshakePair(tb, c1, c2, clientConfig(), serverConfig())
	return cc, sc
}

func benchOneWay(b *testing.B, pair benchPair) {
	c, s := pair(b)
	connbench.OneWay(b, c, s)
}

func benchEcho(b *testing.B, pair benchPair) {
	c, s := pair(b)
	connbench.Echo(b, c, s)
}

func BenchmarkTCPOneWay(b *testing.B)       { benchOneWay(b, rawTCP) }
func BenchmarkTCPEcho(b *testing.B)         { benchEcho(b, rawTCP) }
func BenchmarkBoxStreamOneWay(b *testing.B) { benchOneWay(b, shsTCP) }
func BenchmarkBoxStreamEcho(b *testing.B)   { benchEcho(b, shsTCP) }

// BenchmarkHandshakeTCP: a new loopback TCP conn per op, the full
// handshake on both ends (in this process), one byte from server to client
// (proves the server finished), close.
func BenchmarkHandshakeTCP(b *testing.B) {
	d := &shs.Dialer{Config: clientConfig()}
	scfg := serverConfig()
	benchConnect(b, func(ln net.Listener) net.Listener { return shs.NewListener(ln, scfg) }, d.Dial)
}

// benchConnect is the method every connect benchmark shares, so their
// figures compare: a loopback listener wrapped by wrap answers each conn
// with one byte and closes it; an op dials, reads that byte and closes.
func benchConnect(b *testing.B, wrap func(net.Listener) net.Listener, dial func(network, addr string) (net.Conn, error)) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	sln := wrap(ln)
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		for {
			c, err := sln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.Write([]byte{1})
				c.Close()
			}()
		}
	}()
	one := make([]byte, 1)
	b.ReportAllocs()
	for b.Loop() {
		c, err := dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, one); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.StopTimer()
	ln.Close()
	<-srvDone
}

// BenchmarkHandshakePipe: both handshakes over net.Pipe, no TCP.
func BenchmarkHandshakePipe(b *testing.B) {
	scfg, ccfg := serverConfig(), clientConfig()
	b.ReportAllocs()
	for b.Loop() {
		c1, c2 := net.Pipe()
		cc, sc := shs.Client(c1, ccfg), shs.Server(c2, scfg)
		errc := make(chan error, 1)
		go func() { errc <- sc.Handshake() }()
		if err := cc.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		c1.Close()
		c2.Close()
	}
}

// BenchmarkHandshakePipeUncached is BenchmarkHandshakePipe with the
// validated-key cache off: every handshake checks and converts the remote
// long-term key again, as for a peer never seen before.
func BenchmarkHandshakePipeUncached(b *testing.B) {
	shake.DisableCache = true
	defer func() { shake.DisableCache = false }()
	BenchmarkHandshakePipe(b)
}

// X25519 with a reused private key: crypto/ecdh does one ladder; the
// x/crypto wrapper builds an ecdh key per call (two ladders).
func BenchmarkX25519(b *testing.B) {
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	b.Run("crypto-ecdh", func(b *testing.B) {
		for b.Loop() {
			if _, err := priv.ECDH(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x-crypto-curve25519", func(b *testing.B) {
		for b.Loop() {
			if _, err := curve25519.X25519(priv.Bytes(), peer.PublicKey().Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIdleConnHeap reports the heap held per established, idle shs
// conn (one end; the TCP socket's own Go objects included), after a
// message has gone each way so any buffer that was going to stay would
// have stayed.
func BenchmarkIdleConnHeap(b *testing.B) {
	const n = 200
	var ms0, ms1 runtime.MemStats
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		conns := make([]net.Conn, 0, 2*n)
		for range n {
			c, s := shsTCP(b)
			c.Write([]byte("ping"))
			s.Read(make([]byte, 4))
			s.Write([]byte("pong"))
			c.Read(make([]byte, 4))
			conns = append(conns, c, s)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/(2*n), "heapB/conn")
		for _, c := range conns {
			c.Close()
		}
		b.StartTimer()
	}
}

// BenchmarkHandshakeCrypto runs both sides of the handshake in one
// goroutine with no I/O at all: the crypto floor the conn benchmarks are
// compared against.
func BenchmarkHandshakeCrypto(b *testing.B) {
	slt, err := shake.NewLongTerm(serverKey)
	if err != nil {
		b.Fatal(err)
	}
	clt, err := shake.NewLongTerm(clientKey)
	if err != nil {
		b.Fatal(err)
	}
	spub := serverKey.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		cs, err := shake.NewState(&shs.MainNetKey, clt, spub)
		if err != nil {
			b.Fatal(err)
		}
		ss, err := shake.NewState(&shs.MainNetKey, slt, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := ss.VerifyHello(cs.Hello()); err != nil {
			b.Fatal(err)
		}
		if err := cs.VerifyHello(ss.Hello()); err != nil {
			b.Fatal(err)
		}
		msg3, err := cs.ClientAuth()
		if err != nil {
			b.Fatal(err)
		}
		if err := ss.VerifyClientAuth(msg3); err != nil {
			b.Fatal(err)
		}
		if err := cs.VerifyServerAccept(ss.ServerAccept()); err != nil {
			b.Fatal(err)
		}
	}
}
