//go:build !purego

package shake

import (
	"crypto/ed25519"

	circl "github.com/cloudflare/circl/dh/x25519"
	"github.com/oasisprotocol/curve25519-voi/curve"
	voiscalar "github.com/oasisprotocol/curve25519-voi/curve/scalar"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	voix "github.com/oasisprotocol/curve25519-voi/primitives/x25519"
)

// The curve operations of a handshake, on amd64. Both sides together do
// six X25519 ladders, two fixed-base multiplications, two Ed25519
// signatures and two verifications; the standard library's and
// filippo.io/edwards25519's portable field code leaves this CPU (AMD EPYC,
// 2 vCPU) at 570 µs of crypto per handshake. Measured with the benchmarks
// in this package and ../../bench_test.go:
//
//	X25519 ladder      CIRCL 46 µs        portable 70 µs
//	X25519 fixed base  voi 15 µs          edwards25519 24 µs
//	Ed25519 sign       voi 18 µs          crypto/ed25519 36 µs
//	Ed25519 verify     voi 45 µs          crypto/ed25519 80 µs
//
// CIRCL (github.com/cloudflare/circl) has 64-bit-limb field code with
// MULX/ADX where the CPU has them; curve25519-voi (a port of
// curve25519-dalek) has an AVX2 backend for Edwards arithmetic. Both
// check the CPU at run time and fall back to plain code. Other platforms
// and -tags purego use curve_other.go; TestCurveImplementations and
// FuzzVerifySig check that the two sets agree.

// scalarMult sets dst to X25519(scalar, point). CIRCL's Shared clamps the
// scalar, clears bit 255 of the point and reduces it mod p, as RFC 7748
// asks. Its boolean (the point is in its low-order list) is not used:
// x25519 rejects an all-zero result, which covers the same points.
func scalarMult(dst, scalar, point *[32]byte) {
	circl.Shared((*circl.Key)(dst), (*circl.Key)(scalar), (*circl.Key)(point))
}

// x25519Base returns X25519(scalar, 9). Constant time.
func x25519Base(scalar *[32]byte) [32]byte {
	var u [32]byte
	voix.ScalarBaseMult(&u, scalar)
	return u
}

// sign is ed25519.Sign: RFC 8032 signatures are deterministic, so the
// bytes are the same (TestCurveImplementations compares them).
func sign(priv ed25519.PrivateKey, msg []byte) []byte {
	return voied.Sign(voied.PrivateKey(priv), msg)
}

// voiStdLib selects crypto/ed25519's acceptance rules: cofactorless,
// canonical S and R, any A (verify's own checks refuse small-order and
// non-canonical keys before this is reached). It is voi's
// VerifyOptionsStdLib copied, not referenced: that is an exported
// variable any package could change, and some changes make every
// verification panic.
var voiStdLib = &voied.Options{Verify: &voied.VerifyOptions{
	AllowSmallOrderA:   true,
	AllowSmallOrderR:   true,
	AllowNonCanonicalA: true,
	CofactorlessVerify: true,
}}

// verifySig is ed25519.Verify.
func verifySig(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false // voi panics on a bad key length; Go returns false
	}
	return voied.VerifyWithOptions(voied.PublicKey(pub), msg, sig, voiStdLib)
}

// voiLMinus1 is the group order L minus one.
var voiLMinus1 = func() *voiscalar.Scalar {
	s, err := new(voiscalar.Scalar).SetCanonicalBytes(lMinus1.Bytes())
	if err != nil {
		panic("shake: bad constant L-1")
	}
	return s
}()

// remoteX25519 is checkPublic followed by the conversion to X25519, on
// voi: it accepts a canonical encoding of a point that is not of small
// order and lies in the prime-order subgroup, and returns the point's
// Montgomery u. TestRemoteX25519Implementations and FuzzRemoteX25519 hold
// it to the portable version. Public keys are public: variable time.
func remoteX25519(pk []byte) (x [32]byte, ok bool) {
	if len(pk) != 32 {
		return x, false
	}
	var cy curve.CompressedEdwardsY
	copy(cy[:], pk)
	if !cy.IsCanonicalVartime() {
		return x, false
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&cy); err != nil {
		return x, false
	}
	if p.IsSmallOrder() {
		return x, false
	}
	// [L-1]P + P is the identity exactly when P has no torsion component.
	var q curve.EdwardsPoint
	var zero voiscalar.Scalar
	q.DoubleScalarMulBasepointVartime(voiLMinus1, &p, &zero)
	if !q.Add(&q, &p).IsIdentity() {
		return x, false
	}
	var u curve.MontgomeryPoint
	u.SetEdwards(&p)
	return [32]byte(u), true
}
