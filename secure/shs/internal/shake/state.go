package shake

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/nacl/auth"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/go-multiserver/multiserver/stack"
)

// Message sizes on the wire.
const (
	HelloSize  = 64  // msg1 and msg2
	AuthSize   = 112 // msg3
	AcceptSize = 80  // msg4
)

// State is one side of one handshake. The fields are filled step by step;
// the exported step methods follow the JS secret-handshake crypto.js
// functions so that the recorded step vectors can drive them.
type State struct {
	appKey [32]byte
	local  *LongTerm
	eph    [32]byte // ephemeral X25519 scalar (unclamped; x25519 clamps)
	ephPub [32]byte
	mac    [32]byte // hmac(K, ephPub): our hello HMAC

	remotePub    ed25519.PublicKey // remote long-term key
	remoteX      [32]byte          // its X25519 form
	remoteEphPub [32]byte
	remoteMAC    [32]byte

	ab, aB, Ab [32]byte
	haveAB     bool // aB computed
	haveAb     bool // Ab computed
	abHash     [32]byte
	hello      [96]byte // msg3 plaintext: sigA || A_pk
}

// NewState starts a handshake with a fresh ephemeral key. remote is the
// server's long-term key on the client side and nil on the server side.
func NewState(appKey *[32]byte, local *LongTerm, remote ed25519.PublicKey) (*State, error) {
	eph, pub, err := newEphemeral(rand.Reader)
	if err != nil {
		return nil, err
	}
	return newState(appKey, local, remote, &eph, &pub)
}

// NewStateWithEphemeral is NewState with a given ephemeral X25519 secret
// key, 32 bytes (for test vectors).
func NewStateWithEphemeral(appKey *[32]byte, local *LongTerm, remote ed25519.PublicKey, eph []byte) (*State, error) {
	if len(eph) != 32 {
		return nil, errors.New("shake: ephemeral secret key is not 32 bytes")
	}
	var k [32]byte
	copy(k[:], eph)
	pub := x25519Base(&k)
	return newState(appKey, local, remote, &k, &pub)
}

func newState(appKey *[32]byte, local *LongTerm, remote ed25519.PublicKey, eph, ephPub *[32]byte) (*State, error) {
	s := &State{appKey: *appKey, local: local, eph: *eph, ephPub: *ephPub}
	s.mac = *auth.Sum(s.ephPub[:], &s.appKey)
	if remote != nil {
		x, err := RemoteLongTerm(remote)
		if err != nil {
			return nil, err
		}
		s.remotePub = append(ed25519.PublicKey(nil), remote...)
		s.remoteX = x
	}
	return s, nil
}

// Hello returns our hello (msg1 for the client, msg2 for the server).
func (s *State) Hello() []byte {
	b := make([]byte, 0, HelloSize)
	b = append(b, s.mac[:]...)
	return append(b, s.ephPub[:]...)
}

// VerifyHello checks the peer's hello and computes ab.
func (s *State) VerifyHello(msg []byte) error {
	if err := s.CheckHello(msg); err != nil {
		return err
	}
	return s.ComputeAB()
}

// CheckHello checks the peer's hello: its HMAC under the app key, and that
// the ephemeral key is not one of the low-order points libsodium refuses
// (so that its shared secret with any key would be all zero). It does no
// scalar multiplication, so a server can answer at once and compute ab
// while the client works.
func (s *State) CheckHello(msg []byte) error {
	if len(msg) != HelloSize || !auth.Verify(msg[:32], msg[32:], &s.appKey) {
		return ErrNetworkKey
	}
	if lowOrderX25519(msg[32:]) {
		return ErrLowOrderKey
	}
	copy(s.remoteEphPub[:], msg[32:])
	copy(s.remoteMAC[:], msg[:32])
	return nil
}

// ComputeAB computes ab after CheckHello. X25519 fails on an all-zero
// result, which CheckHello already rules out; the check stays as a
// backstop.
func (s *State) ComputeAB() error {
	if err := x25519(&s.ab, &s.eph, &s.remoteEphPub); err != nil {
		return ErrLowOrderKey
	}
	s.abHash = sha256.Sum256(s.ab[:])
	return nil
}

// x25519LowOrder are the u-coordinates of small order (libsodium's
// has_small_order blacklist): 0, 1, the two of order 8, p-1, p and p+1.
// Bit 255 is ignored, as X25519 ignores it.
var x25519LowOrder = [7][32]byte{
	{},
	{1},
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

// lowOrderX25519 reports whether u (32 bytes) is a low-order point. The
// points are public; no constant time needed.
func lowOrderX25519(u []byte) bool {
	var k [32]byte
	copy(k[:], u)
	k[31] &= 0x7f
	for i := range x25519LowOrder {
		if k == x25519LowOrder[i] {
			return true
		}
	}
	return false
}

func (s *State) computeClientaB() error {
	if s.haveAB {
		return nil
	}
	if err := mulPeer(&s.aB, &s.eph, s.remotePub, &s.remoteX); err != nil {
		return ErrBadPublicKey
	}
	s.haveAB = true
	return nil
}

// ClientAuth builds msg3 (client).
func (s *State) ClientAuth() ([]byte, error) {
	if err := s.computeClientaB(); err != nil {
		return nil, err
	}
	msg := make([]byte, 0, 96)
	msg = append(msg, s.appKey[:]...)
	msg = append(msg, s.remotePub...)
	msg = append(msg, s.abHash[:]...)
	sig := sign(s.local.Private, msg)
	copy(s.hello[:64], sig)
	copy(s.hello[64:], s.local.Public)
	key := s.key2()
	var zero [24]byte
	return secretbox.Seal(make([]byte, 0, AuthSize), s.hello[:], &zero, &key), nil
}

// PrecomputeClient computes Ab on the client while it waits for msg4.
func (s *State) PrecomputeClient() error {
	if s.haveAb {
		return nil
	}
	if err := x25519(&s.Ab, &s.local.x, &s.remoteEphPub); err != nil {
		return ErrLowOrderKey
	}
	s.haveAb = true
	return nil
}

// PrecomputeServer computes aB on the server while it waits for msg3.
func (s *State) PrecomputeServer() error {
	if s.haveAB {
		return nil
	}
	if err := x25519(&s.aB, &s.local.x, &s.remoteEphPub); err != nil {
		return ErrLowOrderKey
	}
	s.haveAB = true
	return nil
}

func (s *State) key2() [32]byte {
	h := sha256.New()
	h.Write(s.appKey[:])
	h.Write(s.ab[:])
	h.Write(s.aB[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (s *State) key3() [32]byte {
	h := sha256.New()
	h.Write(s.appKey[:])
	h.Write(s.ab[:])
	h.Write(s.aB[:])
	h.Write(s.Ab[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// VerifyClientAuth opens and checks msg3 (server). On success RemoteKey
// returns the client's long-term key.
func (s *State) VerifyClientAuth(msg []byte) error {
	if err := s.PrecomputeServer(); err != nil {
		return err
	}
	if len(msg) != AuthSize {
		return ErrServerKey
	}
	key := s.key2()
	var zero [24]byte
	hello, ok := secretbox.Open(make([]byte, 0, 96), msg, &zero, &key)
	if !ok || len(hello) != 96 {
		return ErrServerKey
	}
	pub := ed25519.PublicKey(hello[64:96])
	x, err := RemoteLongTerm(pub)
	if err != nil {
		return err
	}
	signed := make([]byte, 0, 96)
	signed = append(signed, s.appKey[:]...)
	signed = append(signed, s.local.Public...)
	signed = append(signed, s.abHash[:]...)
	if !verify(pub, signed, hello[:64]) {
		return ErrBadSignature
	}
	if err := mulPeer(&s.Ab, &s.eph, pub, &x); err != nil {
		return ErrBadPublicKey
	}
	copy(s.hello[:], hello)
	s.remotePub = append(ed25519.PublicKey(nil), pub...)
	s.remoteX = x
	s.haveAb = true
	return nil
}

func (s *State) acceptMessage() []byte {
	m := make([]byte, 0, 32+96+32)
	m = append(m, s.appKey[:]...)
	m = append(m, s.hello[:]...)
	return append(m, s.abHash[:]...)
}

// ServerAccept builds msg4 (server).
func (s *State) ServerAccept() []byte {
	sig := sign(s.local.Private, s.acceptMessage())
	key := s.key3()
	var zero [24]byte
	return secretbox.Seal(make([]byte, 0, AcceptSize), sig, &zero, &key)
}

// VerifyServerAccept opens and checks msg4 (client).
func (s *State) VerifyServerAccept(msg []byte) error {
	if err := s.PrecomputeClient(); err != nil {
		return err
	}
	if len(msg) != AcceptSize {
		return ErrBadMAC
	}
	key := s.key3()
	var zero [24]byte
	sig, ok := secretbox.Open(make([]byte, 0, 64), msg, &zero, &key)
	if !ok {
		return ErrBadMAC
	}
	if !verify(s.remotePub, s.acceptMessage(), sig) {
		return ErrBadSignature
	}
	notePeer(s.remotePub)
	return nil
}

// RemoteKey returns the peer's long-term key (known up front on the client,
// after VerifyClientAuth on the server).
func (s *State) RemoteKey() ed25519.PublicKey { return s.remotePub }

// Keys is the outcome of a handshake: the box-stream keys and starting
// nonces of both directions, from one side's point of view.
type Keys struct {
	EncKey   [32]byte
	EncNonce [24]byte
	DecKey   [32]byte
	DecNonce [24]byte
}

// Keys derives the box-stream keys after a successful handshake.
func (s *State) Keys() Keys {
	k3 := s.key3()
	kk := sha256.Sum256(k3[:])
	var k Keys
	k.EncKey = streamKey(&kk, s.remotePub)
	k.DecKey = streamKey(&kk, s.local.Public)
	copy(k.EncNonce[:], s.remoteMAC[:24])
	copy(k.DecNonce[:], s.mac[:24])
	return k
}

// streamKey is sha256(kk || pub): the box-stream key of the direction
// towards the owner of pub.
func streamKey(kk *[32]byte, pub []byte) [32]byte {
	h := sha256.New()
	h.Write(kk[:])
	h.Write(pub)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Outcome is Keys in the 112-byte layout of the shs1 test suite:
// enc_key || enc_nonce || dec_key || dec_nonce.
func (k *Keys) Outcome() []byte {
	b := make([]byte, 0, 112)
	b = append(b, k.EncKey[:]...)
	b = append(b, k.EncNonce[:]...)
	b = append(b, k.DecKey[:]...)
	return append(b, k.DecNonce[:]...)
}

// readMsg reads exactly n bytes. EOF before the first byte or inside the
// message becomes io.ErrUnexpectedEOF with the step named.
func readMsg(r io.Reader, buf []byte, what string) error {
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("shs: peer closed the connection before sending %s: %w", what, io.ErrUnexpectedEOF)
		}
		return wrapIO(err)
	}
	return nil
}

func writeMsg(w io.Writer, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return wrapIO(err)
	}
	return nil
}

// wrapIO keeps timeouts recognisable as net.Error while naming the layer.
func wrapIO(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return fmt.Errorf("shs: handshake: %w", err)
}

// Client runs the client side over rw. s must have been made with the
// server's key.
func Client(rw io.ReadWriter, s *State) (Keys, error) {
	if err := writeMsg(rw, s.Hello()); err != nil {
		return Keys{}, err
	}
	// aB needs only the server's long-term key: compute it while msg2 is
	// on its way.
	if err := s.computeClientaB(); err != nil {
		return Keys{}, err
	}
	var buf [AcceptSize]byte
	if err := readMsg(rw, buf[:HelloSize], "its hello (msg2)"); err != nil {
		return Keys{}, err
	}
	if err := s.VerifyHello(buf[:HelloSize]); err != nil {
		return Keys{}, err
	}
	msg3, err := s.ClientAuth()
	if err != nil {
		return Keys{}, err
	}
	if err := writeMsg(rw, msg3); err != nil {
		return Keys{}, err
	}
	if err := s.PrecomputeClient(); err != nil {
		return Keys{}, err
	}
	if _, err := io.ReadFull(rw, buf[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Keys{}, ErrRejected
		}
		return Keys{}, wrapIO(err)
	}
	if err := s.VerifyServerAccept(buf[:]); err != nil {
		return Keys{}, err
	}
	return s.Keys(), nil
}

// Server runs the server side over rw. authorize, if not nil, is called
// with the client's key after msg3 verified and before msg4 is sent; an
// error refuses the client (nothing more is written).
func Server(ctx context.Context, rw io.ReadWriter, s *State, authorize func(context.Context, ed25519.PublicKey) error) (Keys, error) {
	var buf [AuthSize]byte
	// Each step reported to a listener gets its own deadline; a step is
	// a message received and checked, so bytes alone buy no time.
	stack.HandshakeProgress(ctx)
	if err := readMsg(rw, buf[:HelloSize], "its hello (msg1)"); err != nil {
		return Keys{}, err
	}
	if err := s.CheckHello(buf[:HelloSize]); err != nil {
		return Keys{}, err
	}
	stack.HandshakeProgress(ctx)
	// The client computes aB right after sending msg1 and reads msg2 only
	// then; the server computes its aB in the same time. On a synchronous
	// conn (net.Pipe) writing msg2 first would block until the client
	// reads it, and put the server's aB after the client's. ab is computed
	// while the client works on msg3. Under pressure (a flood of clients
	// that send a hello and stall) both wait for msg3: computed ahead,
	// they would be wasted on every stalled client.
	lazy := stack.UnderPressure(ctx)
	if !lazy {
		if err := s.PrecomputeServer(); err != nil {
			return Keys{}, err
		}
	}
	if err := writeMsg(rw, s.Hello()); err != nil {
		return Keys{}, err
	}
	if !lazy {
		if err := s.ComputeAB(); err != nil {
			return Keys{}, err
		}
	}
	if err := readMsg(rw, buf[:], "its authentication (msg3)"); err != nil {
		return Keys{}, err
	}
	if lazy {
		if err := s.ComputeAB(); err != nil {
			return Keys{}, err
		}
	}
	if err := s.VerifyClientAuth(buf[:]); err != nil {
		return Keys{}, err
	}
	stack.HandshakeProgress(ctx)
	if authorize != nil {
		if err := authorize(ctx, s.RemoteKey()); err != nil {
			return Keys{}, err
		}
	}
	if err := writeMsg(rw, s.ServerAccept()); err != nil {
		return Keys{}, err
	}
	// After msg4 is out: a table built now delays only this side.
	notePeer(s.RemoteKey())
	return s.Keys(), nil
}
