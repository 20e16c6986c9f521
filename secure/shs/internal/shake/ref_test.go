package shake

import (
	"crypto/ed25519"
	"crypto/rand"
	"math/big"
	"testing"

	"filippo.io/edwards25519"
)

// An independent reference: RFC 7748 §5 written out in math/big, against
// which the platform's and the portable X25519, the fixed-base
// multiplication and the peer tables are checked on edge inputs (u near 0,
// p and 2^256, powers of two, every low-order u and its +p twin, bit 255
// set; scalars near multiples of the group order).

var (
	bigP    = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	bigA24  = big.NewInt(121665)
	bigL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
)

func leToBig(b []byte) *big.Int {
	r := make([]byte, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(r)
}

func bigToLE32(x *big.Int) (out [32]byte) {
	b := x.Bytes()
	for i := range b {
		out[i] = b[len(b)-1-i]
	}
	return out
}

// refX25519 is RFC 7748 §5 verbatim.
func refX25519(k, u *[32]byte) [32]byte {
	kk := *k
	kk[0] &= 248
	kk[31] &= 127
	kk[31] |= 64
	uu := *u
	uu[31] &= 127
	K := leToBig(kk[:])
	x1 := new(big.Int).Mod(leToBig(uu[:]), bigP)
	x2, z2 := big.NewInt(1), big.NewInt(0)
	x3, z3 := new(big.Int).Set(x1), big.NewInt(1)
	m := func(a *big.Int) *big.Int { return a.Mod(a, bigP) }
	swap := uint(0)
	for t := 254; t >= 0; t-- {
		kt := K.Bit(t)
		swap ^= kt
		if swap == 1 {
			x2, x3 = x3, x2
			z2, z3 = z3, z2
		}
		swap = kt
		A := m(new(big.Int).Add(x2, z2))
		AA := m(new(big.Int).Mul(A, A))
		B := m(new(big.Int).Sub(x2, z2))
		BB := m(new(big.Int).Mul(B, B))
		E := m(new(big.Int).Sub(AA, BB))
		C := m(new(big.Int).Add(x3, z3))
		D := m(new(big.Int).Sub(x3, z3))
		DA := m(new(big.Int).Mul(D, A))
		CB := m(new(big.Int).Mul(C, B))
		t1 := m(new(big.Int).Add(DA, CB))
		x3 = m(new(big.Int).Mul(t1, t1))
		t2 := m(new(big.Int).Sub(DA, CB))
		z3 = m(new(big.Int).Mul(x1, m(new(big.Int).Mul(t2, t2))))
		x2 = m(new(big.Int).Mul(AA, BB))
		z2 = m(new(big.Int).Mul(E, m(new(big.Int).Add(AA, m(new(big.Int).Mul(bigA24, E))))))
	}
	if swap == 1 {
		x2, z2 = x3, z3
	}
	inv := new(big.Int).Exp(z2, new(big.Int).Sub(bigP, big.NewInt(2)), bigP)
	return bigToLE32(m(new(big.Int).Mul(x2, inv)))
}

func edgeUs() [][32]byte {
	var us [][32]byte
	two256 := new(big.Int).Lsh(big.NewInt(1), 256)
	add := func(x *big.Int) {
		u := bigToLE32(new(big.Int).Mod(x, two256))
		us = append(us, u)
		u[31] ^= 0x80
		us = append(us, u)
	}
	for i := int64(0); i < 20; i++ {
		add(big.NewInt(i))
		add(new(big.Int).Sub(bigP, big.NewInt(i)))
		add(new(big.Int).Add(bigP, big.NewInt(i)))
		add(new(big.Int).Sub(two256, big.NewInt(i+1)))
		add(new(big.Int).Lsh(big.NewInt(1), uint(i*13)))
	}
	for _, p := range x25519LowOrder {
		add(leToBig(p[:]))
		add(new(big.Int).Add(leToBig(p[:]), bigP))
	}
	for range 16 {
		var u [32]byte
		rand.Read(u[:])
		us = append(us, u)
	}
	return us
}

func edgeScalars() [][32]byte {
	ks := [][32]byte{{}, {0: 0xff, 31: 0xff}, {0: 9}}
	for i := 0; i < 32; i += 3 {
		var k [32]byte
		k[i] = 0xff
		ks = append(ks, k)
	}
	// Clamped scalars lie in [2^254, 2^255) and are multiples of 8; those
	// within ±64 of 4L..7L.
	for m := int64(4); m <= 7; m++ {
		base := new(big.Int).Mul(bigL, big.NewInt(m))
		for d := int64(-64); d <= 64; d++ {
			s := new(big.Int).Add(base, big.NewInt(d))
			if s.Bit(0) == 0 && s.Bit(1) == 0 && s.Bit(2) == 0 && s.BitLen() == 255 {
				ks = append(ks, bigToLE32(s))
			}
		}
	}
	for range 8 {
		var k [32]byte
		rand.Read(k[:])
		ks = append(ks, k)
	}
	return ks
}

func TestX25519Reference(t *testing.T) {
	ks, us := edgeScalars(), edgeUs()
	check := func(k, u *[32]byte) {
		want := refX25519(k, u)
		var plat, port [32]byte
		scalarMult(&plat, k, u)
		x25519Ladder(&port, k, u)
		if plat != want || port != want {
			t.Fatalf("k %x u %x: reference %x, platform %x, portable %x", *k, *u, want, plat, port)
		}
	}
	// Every u with one scalar and every scalar with one u: the full
	// product is 20,000 big-number ladders, too slow under -race.
	for i := range us {
		check(&ks[i%len(ks)], &us[i])
	}
	for i := range ks {
		check(&ks[i], &us[(7*i)%len(us)])
	}
}

func TestX25519BaseReference(t *testing.T) {
	nine := [32]byte{9}
	for _, k := range edgeScalars() {
		want := refX25519(&k, &nine)
		if got := x25519Base(&k); got != want {
			t.Fatalf("k %x: platform %x, reference %x", k, got, want)
		}
		if got := x25519BasePortable(&k); got != want {
			t.Fatalf("k %x: portable %x, reference %x", k, got, want)
		}
	}
}

// The peer-table path on B, -B, [2]B, -[2]B, [3]B, -[3]B and random keys,
// with every edge scalar.
func TestMulPeerReference(t *testing.T) {
	var keys [][]byte
	for s := int64(1); s <= 3; s++ {
		b := bigToLE32(big.NewInt(s))
		sc, err := edwards25519.NewScalar().SetCanonicalBytes(b[:])
		if err != nil {
			t.Fatal(err)
		}
		p := new(edwards25519.Point).ScalarBaseMult(sc)
		keys = append(keys, p.Bytes(), new(edwards25519.Point).Negate(p).Bytes())
	}
	for range 3 {
		pub, _, _ := ed25519.GenerateKey(nil)
		keys = append(keys, pub)
	}
	for j, pub := range keys {
		x, err := RemoteLongTerm(pub)
		if err != nil {
			t.Fatalf("%x: %v", pub, err)
		}
		for range 8 { // enough for a table, where there are tables
			notePeer(pub)
		}
		for i, k := range edgeScalars() {
			if i%len(keys) != j%len(keys) && i%3 != 0 {
				continue // each key gets a third of the scalars, and its share of the rest
			}
			want := refX25519(&k, &x)
			var got [32]byte
			if err := mulPeer(&got, &k, pub, &x); err != nil || got != want {
				t.Fatalf("pub %x k %x: mulPeer %x (err %v), reference %x", pub, k, got, err, want)
			}
		}
	}
}
