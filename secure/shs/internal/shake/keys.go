// Package shake implements the secret-handshake v1 (shs1) state machine and
// the key checks it needs. It is internal to secure/shs: the public package
// wraps it in a net.Conn, and the shs1 conformance adapter drives it over
// stdin and stdout.
package shake

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"sync"

	"filippo.io/edwards25519"
)

// lMinus1 is the group order L minus one, as a canonical scalar. [L-1]P + P
// is the identity exactly when P lies in the prime-order subgroup.
var lMinus1 = func() *edwards25519.Scalar {
	s, err := edwards25519.NewScalar().SetCanonicalBytes([]byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
		0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x10,
	})
	if err != nil {
		panic("shake: bad constant L-1")
	}
	return s
}()

var identity = edwards25519.NewIdentityPoint()

// hasSmallOrder reports whether [8]P is the identity.
func hasSmallOrder(p *edwards25519.Point) bool {
	var q edwards25519.Point
	q.MultByCofactor(p)
	return q.Equal(identity) == 1
}

// checkPublic decodes an Ed25519 public key the way libsodium's
// crypto_sign_ed25519_pk_to_curve25519 and crypto_sign_verify_detached
// accept it: a canonical encoding of a point that is not of small order and
// lies in the prime-order subgroup. It returns the point.
func checkPublic(pk []byte) (*edwards25519.Point, bool) {
	if len(pk) != ed25519.PublicKeySize {
		return nil, false
	}
	p, err := new(edwards25519.Point).SetBytes(pk)
	if err != nil {
		return nil, false
	}
	if subtle.ConstantTimeCompare(p.Bytes(), pk) != 1 {
		return nil, false // non-canonical encoding
	}
	if hasSmallOrder(p) {
		return nil, false
	}
	// Public keys are public: variable time is fine here.
	var q edwards25519.Point
	q.VarTimeDoubleScalarBaseMult(lMinus1, p, edwards25519.NewScalar())
	q.Add(&q, p)
	if q.Equal(identity) != 1 {
		return nil, false // has a torsion component
	}
	return p, true
}

// remoteX25519Portable is checkPublic followed by the conversion to X25519
// (curve_amd64.go has a faster one).
func remoteX25519Portable(pk []byte) (x [32]byte, ok bool) {
	p, ok := checkPublic(pk)
	if !ok {
		return x, false
	}
	copy(x[:], p.BytesMontgomery())
	return x, true
}

// ValidPublicKey reports whether pk is an Ed25519 public key that the
// handshake accepts (see checkPublic).
func ValidPublicKey(pk []byte) bool {
	_, err := RemoteLongTerm(pk)
	return err == nil
}

// pubCache remembers recently validated remote long-term keys and their
// X25519 forms: validating a key costs about as much as a signature check,
// and peers reconnect with the same keys. The values are pure functions of
// public data.
var pubCache = struct {
	sync.Mutex
	m map[[32]byte][32]byte
}{m: make(map[[32]byte][32]byte)}

const pubCacheMax = 1024

// DisableCache turns the validated-key cache off (for benchmarks that
// measure the uncached cost).
var DisableCache bool

// RemoteLongTerm validates a peer's Ed25519 long-term public key and returns
// its X25519 form. It fails with ErrBadPublicKey.
func RemoteLongTerm(pk []byte) ([32]byte, error) {
	var x [32]byte
	if len(pk) != ed25519.PublicKeySize {
		return x, ErrBadPublicKey
	}
	var k [32]byte
	copy(k[:], pk)
	if !DisableCache {
		pubCache.Lock()
		x, ok := pubCache.m[k]
		pubCache.Unlock()
		if ok {
			return x, nil
		}
	}
	x, ok := remoteX25519(pk)
	if !ok {
		return x, ErrBadPublicKey
	}
	if !DisableCache {
		pubCache.Lock()
		if len(pubCache.m) >= pubCacheMax {
			clear(pubCache.m)
		}
		pubCache.m[k] = x
		pubCache.Unlock()
	}
	return x, nil
}

// smallOrderEnc are the canonical encodings of the eight points of small
// order: the multiples of a point of order 8.
var smallOrderEnc = func() (e [8][32]byte) {
	t8, err := new(edwards25519.Point).SetBytes([]byte{
		0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,
		0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
		0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
	})
	if err != nil {
		panic("shake: bad constant point of order 8")
	}
	p := edwards25519.NewIdentityPoint()
	for i := range e {
		copy(e[i][:], p.Bytes())
		p.Add(p, t8)
	}
	return e
}()

// verify checks an Ed25519 signature as libsodium does: on top of Go's
// ed25519.Verify (which already rejects S >= L and compares R bytewise), the
// public key must pass checkPublic (done by the caller) and R must not be of
// small order. ed25519.Verify accepts only a canonical R (it compares R with
// the encoding of the point it computes), so comparing R with the canonical
// encodings of the small-order points refuses exactly the signatures
// libsodium's has_small_order check refuses, without decoding R.
func verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	r := [32]byte(sig[:32])
	for i := range smallOrderEnc {
		if r == smallOrderEnc[i] {
			return false
		}
	}
	return verifySig(pub, msg, sig)
}

// LongTerm is a local long-term identity prepared for the handshake.
type LongTerm struct {
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
	x       [32]byte // X25519 scalar of Private (clamped)
}

// NewLongTerm prepares priv (64 bytes, seed then public key), which it
// copies. It derives the X25519 scalar once: SHA-512 of the seed, first 32
// bytes, clamped.
func NewLongTerm(priv ed25519.PrivateKey) (*LongTerm, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, ErrBadPrivateKey
	}
	pub := ed25519.NewKeyFromSeed(priv.Seed()).Public().(ed25519.PublicKey)
	if subtle.ConstantTimeCompare(pub, priv[32:]) != 1 {
		return nil, ErrBadPrivateKey
	}
	var x [32]byte
	copy(x[:], Curve25519Scalar(priv))
	// A copy: the caller's slice may be changed or zeroed later.
	priv = append(ed25519.PrivateKey(nil), priv...)
	return &LongTerm{Private: priv, Public: pub, x: x}, nil
}

// Curve25519Scalar converts an Ed25519 private key to its clamped X25519
// scalar (libsodium crypto_sign_ed25519_sk_to_curve25519).
func Curve25519Scalar(priv ed25519.PrivateKey) []byte {
	h := sha512.Sum512(priv.Seed())
	s := h[:32]
	s[0] &= 248
	s[31] &= 127
	s[31] |= 64
	return s
}

// Curve25519Public converts a valid Ed25519 public key to its X25519 form
// (libsodium crypto_sign_ed25519_pk_to_curve25519).
func Curve25519Public(pk []byte) ([]byte, error) {
	x, err := RemoteLongTerm(pk)
	if err != nil {
		return nil, err
	}
	return x[:], nil
}
