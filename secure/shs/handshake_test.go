package shs_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/auth"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
)

// serverSide runs a server Conn over c in the background.
func serverSide(c net.Conn, cfg *shs.Config) <-chan error {
	errc := make(chan error, 1)
	go func() {
		sc := shs.Server(c, cfg)
		errc <- sc.Handshake()
		sc.Close()
	}()
	return errc
}

// expectSilentClose reads from raw and fails unless the peer closes
// without sending another byte.
func expectSilentClose(t *testing.T, raw net.Conn, after string) {
	t.Helper()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.ReadFull(raw, make([]byte, 1))
	if n != 0 || err != io.EOF {
		t.Fatalf("after %s: peer sent %d more bytes (err %v), want a close without a byte", after, n, err)
	}
}

func TestRejectWrongAppKey(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c1.Close()
	serr := serverSide(c2, serverConfig())
	ccfg := clientConfig()
	ccfg.AppKey = bytes.Repeat([]byte{9}, 32)
	err := shs.Client(c1, ccfg).Handshake()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("client: %v, want io.ErrUnexpectedEOF (server hung up before msg2)", err)
	}
	if err := <-serr; !errors.Is(err, shs.ErrNetworkKey) {
		t.Errorf("server: %v, want ErrNetworkKey", err)
	}
}

func TestRejectWrongServerKey(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c1.Close()
	serr := serverSide(c2, serverConfig())
	ccfg := clientConfig()
	ccfg.ServerKey = clientKey.Public().(ed25519.PublicKey)
	if err := shs.Client(c1, ccfg).Handshake(); !errors.Is(err, shs.ErrRejected) {
		t.Errorf("client: %v, want ErrRejected", err)
	}
	if err := <-serr; !errors.Is(err, shs.ErrServerKey) {
		t.Errorf("server: %v, want ErrServerKey", err)
	}
}

func TestBadServerKeyInConfig(t *testing.T) {
	identity := make(ed25519.PublicKey, 32)
	identity[0] = 1
	for name, key := range map[string]ed25519.PublicKey{"identity point": identity, "short": identity[:31]} {
		t.Run(name, func(t *testing.T) {
			c1, c2 := tcpPair(t)
			defer c2.Close()
			ccfg := clientConfig()
			ccfg.ServerKey = key
			if err := shs.Client(c1, ccfg).Handshake(); !errors.Is(err, shs.ErrBadPublicKey) {
				t.Errorf("client: %v, want ErrBadPublicKey", err)
			}
			expectSilentClose(t, c2, "a bad configured server key")
		})
	}
}

func TestAuthorizeRefusalSendsNoMsg4(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c1.Close()
	errNo := errors.New("not on the list")
	scfg := serverConfig()
	var seen ed25519.PublicKey
	scfg.Authorize = func(_ context.Context, k ed25519.PublicKey) (any, error) {
		seen = k
		return nil, errNo
	}
	serr := serverSide(c2, scfg)
	// Drive the client by hand to watch the wire.
	lt, err := shake.NewLongTerm(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := shake.NewState(&shs.MainNetKey, lt, serverKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	c1.Write(st.Hello())
	msg2 := make([]byte, shake.HelloSize)
	if _, err := io.ReadFull(c1, msg2); err != nil {
		t.Fatal(err)
	}
	if err := st.VerifyHello(msg2); err != nil {
		t.Fatal(err)
	}
	msg3, err := st.ClientAuth()
	if err != nil {
		t.Fatal(err)
	}
	c1.Write(msg3)
	expectSilentClose(t, c1, "a refused msg3")
	err = <-serr
	if !errors.Is(err, shs.ErrUnauthorized) || !errors.Is(err, errNo) {
		t.Errorf("server: %v, want ErrUnauthorized wrapping the Authorize error", err)
	}
	if !bytes.Equal(seen, clientKey.Public().(ed25519.PublicKey)) {
		t.Error("Authorize did not get the client's key")
	}
}

func TestAuthorizeRefusalClientError(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c1.Close()
	scfg := serverConfig()
	scfg.Authorize = func(context.Context, ed25519.PublicKey) (any, error) { return nil, errors.New("no") }
	serr := serverSide(c2, scfg)
	if err := shs.Client(c1, clientConfig()).Handshake(); !errors.Is(err, shs.ErrRejected) {
		t.Errorf("client: %v, want ErrRejected", err)
	}
	<-serr
}

// lowOrder are X25519 points of small order (libsodium's blacklist):
// every one makes the shared secret all zero.
var lowOrder = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}

// lowOrderHello is a hello with a correct HMAC over a low-order key.
func lowOrderHello(t *testing.T, h string) []byte {
	p, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return append(auth.Sum(p, &shs.MainNetKey)[:], p...)
}

func TestLowOrderEphemeralInMsg1(t *testing.T) {
	for _, h := range lowOrder {
		t.Run(h[:8], func(t *testing.T) {
			c1, c2 := tcpPair(t)
			defer c1.Close()
			serr := serverSide(c2, serverConfig())
			c1.Write(lowOrderHello(t, h))
			expectSilentClose(t, c1, "a low-order msg1")
			if err := <-serr; !errors.Is(err, shs.ErrLowOrderKey) {
				t.Errorf("server: %v, want ErrLowOrderKey", err)
			}
		})
	}
}

func TestLowOrderEphemeralInMsg2(t *testing.T) {
	for _, h := range lowOrder {
		t.Run(h[:8], func(t *testing.T) {
			c1, c2 := tcpPair(t)
			defer c2.Close()
			errc := make(chan error, 1)
			go func() { errc <- shs.Client(c1, clientConfig()).Handshake() }()
			if _, err := io.ReadFull(c2, make([]byte, 64)); err != nil {
				t.Fatal(err)
			}
			c2.Write(lowOrderHello(t, h))
			expectSilentClose(t, c2, "a low-order msg2")
			if err := <-errc; !errors.Is(err, shs.ErrLowOrderKey) {
				t.Errorf("client: %v, want ErrLowOrderKey", err)
			}
		})
	}
}

// handMsg3 runs msg1/msg2 against a server by hand and returns a function
// that boxes a 96-byte msg3 plaintext with the right key, and the message
// the client signature must cover.
func handMsg3(t *testing.T, raw net.Conn) (box func(plain []byte) []byte, signed []byte) {
	t.Helper()
	box, signed, err := tryHandMsg3(raw)
	if err != nil {
		t.Fatal(err)
	}
	return box, signed
}

func tryHandMsg3(raw net.Conn) (box func(plain []byte) []byte, signed []byte, err error) {
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	raw.Write(append(auth.Sum(eph.PublicKey().Bytes(), &shs.MainNetKey)[:], eph.PublicKey().Bytes()...))
	msg2 := make([]byte, 64)
	if _, err := io.ReadFull(raw, msg2); err != nil {
		return nil, nil, err
	}
	peph, err := ecdh.X25519().NewPublicKey(msg2[32:])
	if err != nil {
		return nil, nil, err
	}
	ab, err := eph.ECDH(peph)
	if err != nil {
		return nil, nil, err
	}
	bx, err := shake.Curve25519Public(serverKey.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, nil, err
	}
	bxp, err := ecdh.X25519().NewPublicKey(bx)
	if err != nil {
		return nil, nil, err
	}
	aB, err := eph.ECDH(bxp)
	if err != nil {
		return nil, nil, err
	}
	key := sha256.Sum256(append(append(append([]byte{}, shs.MainNetKey[:]...), ab...), aB...))
	abHash := sha256.Sum256(ab)
	signed = append(append(append([]byte{}, shs.MainNetKey[:]...), serverKey[32:]...), abHash[:]...)
	return func(plain []byte) []byte {
		var zero [24]byte
		return secretbox.Seal(nil, plain, &zero, &key)
	}, signed, nil
}

func TestMsg3Rejections(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	basePoint, _ := hex.DecodeString("5866666666666666666666666666666666666666666666666666666666666666")
	one := make([]byte, 32)
	one[0] = 1
	trivialSig := append(append([]byte{}, basePoint...), one...)
	// L, the group order, little-endian: S + L is a non-canonical S.
	order, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	addL := func(s []byte) []byte {
		out := make([]byte, 32)
		carry := 0
		for i := range 32 {
			v := int(s[i]) + int(order[i]) + carry
			out[i], carry = byte(v), v>>8
		}
		return out
	}
	clientPub := clientKey.Public().(ed25519.PublicKey)
	tests := []struct {
		name  string
		plain func(signed []byte) []byte
		want  error
	}{
		{"identity key with trivial signature", func([]byte) []byte {
			return append(append([]byte{}, trivialSig...), identity...)
		}, shs.ErrBadPublicKey},
		{"real key, random signature", func([]byte) []byte {
			sig := make([]byte, 64)
			rand.Read(sig)
			return append(sig, clientPub...)
		}, shs.ErrBadSignature},
		{"real key, non-canonical S", func(signed []byte) []byte {
			sig := ed25519.Sign(clientKey, signed)
			sig = append(sig[:32:32], addL(sig[32:])...)
			return append(sig, clientPub...)
		}, shs.ErrBadSignature},
		{"real key, signature over another message", func([]byte) []byte {
			return append(ed25519.Sign(clientKey, []byte("something else")), clientPub...)
		}, shs.ErrBadSignature},
	}
	// Precondition of the first case: Go's Verify accepts it.
	if !ed25519.Verify(identity, []byte("any message"), trivialSig) {
		t.Fatal("precondition: stdlib ed25519.Verify should accept the trivial signature for the identity key")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c1, c2 := tcpPair(t)
			defer c1.Close()
			serr := serverSide(c2, serverConfig())
			box, signed := handMsg3(t, c1)
			c1.Write(box(tt.plain(signed)))
			expectSilentClose(t, c1, "a bad msg3")
			if err := <-serr; !errors.Is(err, tt.want) {
				t.Errorf("server: %v, want %v", err, tt.want)
			}
		})
	}
	// The same hand-made client with a real signature succeeds, so the
	// cases above fail for the reason they test.
	t.Run("control", func(t *testing.T) {
		c1, c2 := tcpPair(t)
		defer c1.Close()
		serr := serverSide(c2, serverConfig())
		box, signed := handMsg3(t, c1)
		c1.Write(box(append(ed25519.Sign(clientKey, signed), clientPub...)))
		if _, err := io.ReadFull(c1, make([]byte, shake.AcceptSize)); err != nil {
			t.Fatalf("no msg4 for a valid msg3: %v", err)
		}
		if err := <-serr; err != nil {
			t.Fatalf("server: %v", err)
		}
	})
}

func TestBadMsg4(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c2.Close()
	errc := make(chan error, 1)
	go func() { errc <- shs.Client(c1, clientConfig()).Handshake() }()
	lt, _ := shake.NewLongTerm(serverKey)
	st, _ := shake.NewState(&shs.MainNetKey, lt, nil)
	msg1 := make([]byte, 64)
	io.ReadFull(c2, msg1)
	if err := st.VerifyHello(msg1); err != nil {
		t.Fatal(err)
	}
	c2.Write(st.Hello())
	msg3 := make([]byte, shake.AuthSize)
	io.ReadFull(c2, msg3)
	if err := st.VerifyClientAuth(msg3); err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, shake.AcceptSize)
	rand.Read(junk)
	c2.Write(junk)
	if err := <-errc; !errors.Is(err, shs.ErrBadMAC) {
		t.Errorf("client: %v, want ErrBadMAC", err)
	}
	expectSilentClose(t, c2, "a bad msg4")
}

func TestSeedClient(t *testing.T) {
	seed := bytes.Repeat([]byte{0x5e}, 32)
	guest := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	c1, c2 := tcpPair(t)
	ccfg := clientConfig()
	ccfg.Seed = seed
	cc, sc := handshakePair(t, c1, c2, ccfg, serverConfig())
	defer cc.Close()
	defer sc.Close()
	if !bytes.Equal(sc.RemoteKey(), guest) || !bytes.Equal(cc.LocalKey(), guest) {
		t.Fatal("the server does not see the seed's key")
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *shs.Config
		client bool
	}{
		{"nil", nil, false},
		{"no server key", &shs.Config{}, true},
		{"short app key", &shs.Config{AppKey: []byte{1}}, false},
		{"short seed", &shs.Config{ServerKey: serverKey.Public().(ed25519.PublicKey), Seed: []byte{1}}, true},
		{"max body", &shs.Config{MaxFrameSize: 70000}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c1, c2 := net.Pipe()
			defer c2.Close()
			var c *shs.Conn
			if tt.client {
				c = shs.Client(c1, tt.cfg)
			} else {
				c = shs.Server(c1, tt.cfg)
			}
			if err := c.Handshake(); !errors.Is(err, shs.ErrInvalidConfig) {
				t.Fatalf("Handshake = %v, want ErrInvalidConfig", err)
			}
		})
	}
	c1, c2 := net.Pipe()
	defer c2.Close()
	if err := shs.Server(c1, &shs.Config{Identity: serverKey[:32]}).Handshake(); !errors.Is(err, shs.ErrBadPrivateKey) {
		t.Fatalf("short identity: %v, want ErrBadPrivateKey", err)
	}
}

// A Config's identity is re-derived when the Identity slice is changed in
// place, and every conn of a listener with a nil Identity shares one key.
func TestConfigIdentity(t *testing.T) {
	id := append(ed25519.PrivateKey(nil), clientKey...)
	ccfg := &shs.Config{Identity: id, ServerKey: serverKey.Public().(ed25519.PublicKey)}
	scfg := &shs.Config{Identity: serverKey}
	remote := func() ed25519.PublicKey {
		c1, c2 := tcpPair(t)
		cc, sc := handshakePair(t, c1, c2, ccfg, scfg)
		defer cc.Close()
		defer sc.Close()
		return sc.RemoteKey()
	}
	if k := remote(); !bytes.Equal(k, clientKey[32:]) {
		t.Fatal("first handshake: wrong client key")
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x77}, 32))
	copy(id, other)
	if k := remote(); !bytes.Equal(k, other[32:]) {
		t.Fatal("Identity changed in place, but the old key was used")
	}

	fresh := &shs.Config{}
	pub, err := fresh.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c1, c2 := tcpPair(t)
		cc, sc := handshakePair(t, c1, c2, &shs.Config{Identity: clientKey, ServerKey: pub}, fresh)
		cc.Close()
		sc.Close()
	}
	if clone, _ := fresh.Clone().PublicKey(); !bytes.Equal(clone, pub) {
		t.Fatal("Clone lost the generated identity")
	}
}
