package shake

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"math/big"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

// The platform's curve operations (curve_amd64.go on amd64) against the
// portable ones: the rest of the package's tests reach only the platform's.
// On platforms where they are the same functions this still runs, and
// proves nothing more than the other tests do.

func TestX25519BaseImplementations(t *testing.T) {
	scalars := [][32]byte{{}, {0: 0xff, 31: 0xff}, {0: 9}}
	for range 200 {
		var k [32]byte
		rand.Read(k[:])
		scalars = append(scalars, k)
	}
	for _, k := range scalars {
		if a, b := x25519BasePortable(&k), x25519Base(&k); a != b {
			t.Fatalf("scalar %x: portable %x, platform %x", k, a, b)
		}
	}
}

func TestSignImplementations(t *testing.T) {
	for i := range 100 {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], uint64(i))
		priv := ed25519.NewKeyFromSeed(seed[:])
		msg := make([]byte, i*3)
		rand.Read(msg)
		want := ed25519.Sign(priv, msg)
		if got := sign(priv, msg); !bytes.Equal(got, want) {
			t.Fatalf("key %d, %d-byte message: sign %x, ed25519.Sign %x", i, len(msg), got, want)
		}
	}
}

// verifyCases returns (pub, msg, sig) triples that stress the acceptance
// rules: honest signatures, every single-bit flip of one of them, S >= L
// (S + L, S = L), every small-order R, non-canonical R and A encodings,
// small-order and off-curve A, and the identity-R forgery for its own key.
func verifyCases(t testing.TB) [][3][]byte {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("msg3 or msg4 plaintext, 96 bytes in the handshake")
	sig := ed25519.Sign(priv, msg)
	var cases [][3][]byte
	add := func(p, m, s []byte) { cases = append(cases, [3][]byte{p, m, s}) }
	add(pub, msg, sig)
	for bit := range 8 * (32 + 64) {
		p, s := bytes.Clone(pub), bytes.Clone(sig)
		if bit < 256 {
			p[bit/8] ^= 1 << (bit % 8)
		} else {
			s[(bit-256)/8] ^= 1 << (bit % 8)
		}
		add(p, msg, s)
	}
	// S + L and S = L: both not reduced.
	// L, the group order, little-endian.
	lBytes := []byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}
	sPlusL := addLE(sig[32:], lBytes)
	add(pub, msg, append(bytes.Clone(sig[:32]), sPlusL...))
	add(pub, msg, append(bytes.Clone(sig[:32]), lBytes...))
	// Small-order R with the S that makes it verify for the owner.
	for _, r := range smallOrderEnc {
		add(pub, msg, append(r[:], sig[32:]...))
	}
	// Non-canonical encodings: y = p + k for small k (valid points for some k).
	for k := range 19 {
		var e [32]byte
		e[0] = 0xed + byte(k)
		for j := 1; j < 31; j++ {
			e[j] = 0xff
		}
		e[31] = 0x7f
		add(pub, msg, append(e[:], sig[32:]...))
		add(e[:], msg, sig)
		e[31] |= 0x80
		add(e[:], msg, sig)
	}
	for _, a := range smallOrderEnc {
		add(a[:], msg, sig)
	}
	// Small-order A and R with S = 0, also non-canonically encoded (y = p,
	// y = p + 1, sign bit set on x = 0): cofactored verification accepts
	// them all, Go's cofactorless one only when R = -[k]A. These separate
	// the verification modes.
	encs := append([][32]byte(nil), smallOrderEnc[:]...)
	for _, low := range []byte{0xed, 0xee} {
		var e [32]byte
		e[0] = low
		for j := 1; j < 31; j++ {
			e[j] = 0xff
		}
		e[31] = 0x7f
		encs = append(encs, e)
		e[31] = 0xff
		encs = append(encs, e)
	}
	one := [32]byte{1}
	one[31] = 0x80
	encs = append(encs, one)
	for _, a := range encs {
		for _, r := range encs {
			add(a[:], msg, append(r[:], make([]byte, 32)...))
		}
	}
	// Random 32-byte strings as keys: about half are not on the curve.
	for range 32 {
		var a [32]byte
		rand.Read(a[:])
		add(a[:], msg, sig)
	}
	// The identity-R forgery (TestVerifyRefusesSmallOrderR).
	add(pub, msg, identityRSignature(t, priv, msg))
	// Wrong lengths.
	add(pub[:31], msg, sig)
	add(pub, msg, sig[:63])
	add(pub, msg, append(bytes.Clone(sig), 0))
	return cases
}

// addLE returns a + b for 32-byte little-endian numbers (mod 2^256).
func addLE(a, b []byte) []byte {
	out := make([]byte, 32)
	var c uint16
	for i := range 32 {
		c += uint16(a[i]) + uint16(b[i])
		out[i] = byte(c)
		c >>= 8
	}
	return out
}

// identityRSignature is the signature of msg by priv with R the identity
// (S = k·a makes [S]B - [k]A the identity): Go's ed25519.Verify accepts
// it, libsodium does not.
func identityRSignature(t testing.TB, priv ed25519.PrivateKey, msg []byte) []byte {
	t.Helper()
	h := sha512Sum(priv.Seed())
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	r := edwards25519.NewIdentityPoint().Bytes()
	k, err := edwards25519.NewScalar().SetUniformBytes(sha512Sum(r, priv[32:], msg))
	if err != nil {
		t.Fatal(err)
	}
	return append(r, edwards25519.NewScalar().Multiply(k, a).Bytes()...)
}

func sha512Sum(parts ...[]byte) []byte {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func TestVerifyImplementations(t *testing.T) {
	accepted := 0
	for i, c := range verifyCases(t) {
		want := portableVerify(c[0], c[1], c[2])
		if want {
			accepted++
		}
		if got := verifySig(c[0], c[1], c[2]); got != want {
			t.Errorf("case %d (pub %x sig %x): verifySig %v, ed25519.Verify %v", i, c[0], c[2], got, want)
		}
	}
	// The honest signature, and the identity-R forgery that Go accepts
	// (verify, not verifySig, refuses it): if fewer pass, the cases no
	// longer test acceptance.
	if accepted < 2 {
		t.Errorf("only %d cases accepted by ed25519.Verify; want at least 2", accepted)
	}
}

// portableVerify is ed25519.Verify without its panic on a bad key length.
func portableVerify(pub, msg, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
}

// FuzzVerifySig: the platform's verification accepts exactly what
// crypto/ed25519 accepts.
func FuzzVerifySig(f *testing.F) {
	for _, c := range verifyCases(f) {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if got, want := verifySig(pub, msg, sig), portableVerify(pub, msg, sig); got != want {
			t.Fatalf("pub %x msg %x sig %x: verifySig %v, ed25519.Verify %v", pub, msg, sig, got, want)
		}
	})
}

// The curve operations, platform against portable (the figures in
// curve_amd64.go and BENCHMARKS.md).
func BenchmarkCurve(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 96) // msg3 and msg4 sign 96 and 160 bytes
	sig := ed25519.Sign(priv, msg)
	var k [32]byte
	rand.Read(k[:])
	b.Run("sign/platform", func(b *testing.B) {
		for b.Loop() {
			sign(priv, msg)
		}
	})
	b.Run("sign/crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
	b.Run("verify/platform", func(b *testing.B) {
		for b.Loop() {
			if !verifySig(pub, msg, sig) {
				b.Fatal("verify")
			}
		}
	})
	b.Run("verify/crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("verify")
			}
		}
	})
	b.Run("validate-key/platform", func(b *testing.B) {
		for b.Loop() {
			if _, ok := remoteX25519(pub); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("validate-key/portable", func(b *testing.B) {
		for b.Loop() {
			if _, ok := remoteX25519Portable(pub); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("base/platform", func(b *testing.B) {
		for b.Loop() {
			x25519Base(&k)
		}
	})
	b.Run("base/portable", func(b *testing.B) {
		for b.Loop() {
			x25519BasePortable(&k)
		}
	})
}

// torsionPoints returns the eight points of small order.
func torsionPoints(t testing.TB) []*edwards25519.Point {
	var ts []*edwards25519.Point
	for _, e := range smallOrderEnc {
		p, err := new(edwards25519.Point).SetBytes(e[:])
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, p)
	}
	return ts
}

// encodings returns the encodings that decode to p: the canonical one,
// y + p where that fits in 255 bits, and each with the sign bit set when
// x = 0.
func encodings(p *edwards25519.Point) [][]byte {
	c := p.Bytes()
	out := [][]byte{c}
	yb := bytes.Clone(c)
	yb[31] &= 0x7f
	if y := new(big.Int).Add(leToBig(yb), bigP); y.BitLen() <= 255 {
		e := bigToLE32(y)
		e[31] |= c[31] & 0x80
		out = append(out, e[:])
	}
	if new(edwards25519.Point).Negate(p).Equal(p) == 1 {
		for _, e := range slices.Clone(out) {
			e = bytes.Clone(e)
			e[31] |= 0x80
			out = append(out, e)
		}
	}
	return out
}

func randScalar(t testing.TB) *edwards25519.Scalar {
	var seed [64]byte
	rand.Read(seed[:])
	s, err := edwards25519.NewScalar().SetUniformBytes(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Signatures that verify somewhere: mixed-order keys A = [a]B + T with
// R = [r]B + T' and S = r + k·a, for every pair of torsion points and
// every encoding, plus S + L; small-order keys in every encoding with
// R = [S]B - [j]A. Go's cofactorless check accepts some of them (T = T' =
// identity, and where the torsion parts cancel); the platform's verify
// must accept exactly the same ones. Random inputs (FuzzVerifySig) almost
// never produce a valid signature, so this is where acceptance is tested.
func TestVerifyMixedOrder(t *testing.T) {
	ts := torsionPoints(t)
	lBytes := bigToLE32(bigL)
	var cases, accepted int
	check := func(pub, msg, sig []byte) {
		want := portableVerify(pub, msg, sig)
		if got := verifySig(pub, msg, sig); got != want {
			t.Fatalf("pub %x msg %q sig %x: verifySig %v, ed25519.Verify %v", pub, msg, sig, got, want)
		}
		cases++
		if want {
			accepted++
		}
	}
	for ti, T := range ts {
		a := randScalar(t)
		A := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(a), T)
		for _, aEnc := range encodings(A) {
			for m := range 4 {
				msg := []byte{byte(ti), byte(m)}
				r := randScalar(t)
				for _, T2 := range ts {
					R := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(r), T2)
					for _, rEnc := range encodings(R) {
						k, err := edwards25519.NewScalar().SetUniformBytes(sha512Sum(rEnc, aEnc, msg))
						if err != nil {
							t.Fatal(err)
						}
						S := edwards25519.NewScalar().MultiplyAdd(k, a, r).Bytes()
						check(aEnc, msg, append(bytes.Clone(rEnc), S...))
						check(aEnc, msg, append(bytes.Clone(rEnc), addLE(S, lBytes[:])...))
					}
				}
			}
		}
	}
	for ti, T := range ts {
		for _, aEnc := range encodings(T) {
			for m := range 4 {
				msg := []byte{'s', byte(ti), byte(m)}
				S := randScalar(t)
				if m == 0 {
					S = edwards25519.NewScalar()
				}
				SB := new(edwards25519.Point).ScalarBaseMult(S)
				jA := edwards25519.NewIdentityPoint()
				for range 8 {
					R := new(edwards25519.Point).Subtract(SB, jA)
					for _, rEnc := range encodings(R) {
						check(aEnc, msg, append(bytes.Clone(rEnc), S.Bytes()...))
					}
					jA.Add(jA, T)
				}
			}
		}
	}
	t.Logf("%d cases, %d accepted by ed25519.Verify", cases, accepted)
	if accepted < 50 {
		t.Errorf("only %d of %d cases accepted by ed25519.Verify: the cases no longer test acceptance", accepted, cases)
	}
}

// remoteKeyCases are candidate long-term keys: honest ones, random
// strings (about half are not points), every small-order point and every
// mixed-order point [a]B + T in every encoding, non-canonical y = p + k
// with both sign bits, and wrong lengths.
func remoteKeyCases(t testing.TB) [][]byte {
	var cases [][]byte
	for range 64 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, pub)
	}
	for range 128 {
		var b [32]byte
		rand.Read(b[:])
		cases = append(cases, b[:])
	}
	for _, T := range torsionPoints(t) {
		cases = append(cases, encodings(T)...)
		for range 4 {
			P := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(randScalar(t)), T)
			cases = append(cases, encodings(P)...)
			cases = append(cases, encodings(new(edwards25519.Point).Negate(P))...)
		}
	}
	for k := range 19 {
		e := bigToLE32(new(big.Int).Add(bigP, big.NewInt(int64(k))))
		cases = append(cases, bytes.Clone(e[:]))
		e[31] |= 0x80
		cases = append(cases, bytes.Clone(e[:]))
	}
	return append(cases, nil, make([]byte, 31), make([]byte, 33))
}

func TestRemoteX25519Implementations(t *testing.T) {
	accepted, refused := 0, 0
	for _, pk := range remoteKeyCases(t) {
		want, wok := remoteX25519Portable(pk)
		got, gok := remoteX25519(pk)
		if gok != wok || got != want {
			t.Fatalf("key %x: platform (%x, %v), portable (%x, %v)", pk, got, gok, want, wok)
		}
		if wok {
			accepted++
		} else {
			refused++
		}
	}
	// 64 honest keys plus the torsion-free points among the mixed-order
	// ones; the small-order, mixed-order, non-canonical and random ones
	// are refused.
	if accepted < 64 || refused < 100 {
		t.Errorf("%d accepted, %d refused: the cases no longer test both outcomes", accepted, refused)
	}
}

// FuzzRemoteX25519: the platform's key validation and conversion agree
// with the portable one on any input.
func FuzzRemoteX25519(f *testing.F) {
	for _, pk := range remoteKeyCases(f) {
		f.Add(pk)
	}
	f.Fuzz(func(t *testing.T, pk []byte) {
		want, wok := remoteX25519Portable(pk)
		got, gok := remoteX25519(pk)
		if gok != wok || got != want {
			t.Fatalf("key %x: platform (%x, %v), portable (%x, %v)", pk, got, gok, want, wok)
		}
	})
}

// The canonical-encoding check in key validation never decides the
// outcome: the only non-canonical encodings are y = p + k (k < 19), and x
// = 0 with the sign bit, and none of them decodes to a point that the
// small-order and subgroup checks would let through. So removing that
// check (a mutation) cannot fail TestRemoteX25519Implementations; this
// test records why, and would fail if it were ever not so.
func TestNonCanonicalKeysNeverValid(t *testing.T) {
	ys := []*big.Int{big.NewInt(1), new(big.Int).Sub(bigP, big.NewInt(1))} // x = 0
	for k := range 19 {
		ys = append(ys, new(big.Int).Add(bigP, big.NewInt(int64(k))))
	}
	for k, y := range ys {
		for _, sign := range []byte{0, 0x80} {
			e := bigToLE32(y)
			e[31] |= sign
			p, err := new(edwards25519.Point).SetBytes(e[:]) // accepts non-canonical y
			if err != nil {
				continue // not on the curve
			}
			var q edwards25519.Point
			q.VarTimeDoubleScalarBaseMult(lMinus1, p, edwards25519.NewScalar())
			q.Add(&q, p)
			if !hasSmallOrder(p) && q.Equal(identity) == 1 {
				t.Errorf("case %d, %x: a torsion-free point of large order", k, e)
			}
		}
	}
}
