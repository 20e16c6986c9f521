package shake

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
)

func hex32(t testing.TB, s string) *[32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex %q", s)
	}
	return (*[32]byte)(b)
}

// RFC 7748 §5.2 (the second u has bit 255 set, which must be ignored) and
// §6.1.
func TestX25519RFC7748(t *testing.T) {
	tests := []struct {
		name, scalar, u, want string
	}{
		{"5.2 vector 1",
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"5.2 vector 2",
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
		{"6.1 Alice public",
			"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"0900000000000000000000000000000000000000000000000000000000000000",
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
		{"6.1 Bob public",
			"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
			"0900000000000000000000000000000000000000000000000000000000000000",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
		{"6.1 Alice shared",
			"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
		{"6.1 Bob shared",
			"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, u, want := hex32(t, tt.scalar), hex32(t, tt.u), hex32(t, tt.want)
			var got [32]byte
			if err := x25519(&got, k, u); err != nil {
				t.Fatal(err)
			}
			if got != *want {
				t.Errorf("ladder: got %x, want %x", got, *want)
			}
			if u[0] == 9 && bytes.Equal(u[1:], make([]byte, 31)) {
				if pub := x25519Base(k); pub != *want {
					t.Errorf("fixed-base: got %x, want %x", pub, *want)
				}
			}
		})
	}
}

// RFC 7748 §5.2, iterated: k = u = 9, then k, u = X25519(k, u), k.
func TestX25519Iterated(t *testing.T) {
	want := map[int]string{
		1:    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
		1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
	}
	n := 1000
	if testing.Short() {
		n = 1
	}
	k, u := [32]byte{9}, [32]byte{9}
	for i := 1; i <= n; i++ {
		var r [32]byte
		if err := x25519(&r, &k, &u); err != nil {
			t.Fatal(err)
		}
		k, u = r, k
		if w, ok := want[i]; ok && k != *hex32(t, w) {
			t.Fatalf("after %d iterations: got %x, want %s", i, k, w)
		}
	}
}

// The fixed-base public key and the ladder agree with crypto/ecdh for
// random scalars and points (including u with bit 255 set and
// non-canonical u >= p, which X25519 reduces).
func TestX25519MatchesECDH(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	for i := range n {
		var sk [32]byte
		rand.Read(sk[:])
		priv, err := ecdh.X25519().NewPrivateKey(sk[:])
		if err != nil {
			t.Fatal(err)
		}
		if pub := x25519Base(&sk); !bytes.Equal(pub[:], priv.PublicKey().Bytes()) {
			t.Fatalf("scalar %x: fixed-base %x, crypto/ecdh %x", sk, pub, priv.PublicKey().Bytes())
		}
		var u [32]byte
		rand.Read(u[:])
		switch i % 3 {
		case 1:
			u[31] |= 0x80
		case 2: // p + small, p = 2^255 - 19
			u = [32]byte{0xed + byte(i%18)}
			for j := 1; j < 31; j++ {
				u[j] = 0xff
			}
			u[31] = 0x7f
		}
		peer, err := ecdh.X25519().NewPublicKey(u[:])
		if err != nil {
			t.Fatal(err)
		}
		want, werr := priv.ECDH(peer)
		var got [32]byte
		gerr := x25519(&got, &sk, &u)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("u %x: crypto/ecdh error %v, ours %v", u, werr, gerr)
		}
		if werr == nil && !bytes.Equal(got[:], want) {
			t.Fatalf("u %x: ladder %x, crypto/ecdh %x", u, got, want)
		}
	}
}

// The portable ladder and the platform's (CIRCL on amd64) agree on random
// scalars and points, on u with bit 255 set, on non-canonical u >= p, on
// every low-order u and on the extreme scalars; the other tests reach only
// the platform's through x25519.
func TestLadders(t *testing.T) {
	var us [][32]byte
	for i := range 200 {
		var u [32]byte
		rand.Read(u[:])
		if i%2 == 1 {
			u[31] |= 0x80
		}
		us = append(us, u)
	}
	for i := range 2 * 19 { // p .. 2^255-1, and the same with bit 255
		u := [32]byte{0xed + byte(i%19)}
		for j := 1; j < 31; j++ {
			u[j] = 0xff
		}
		u[31] = 0x7f | byte(i/19)<<7
		us = append(us, u)
	}
	for _, p := range x25519LowOrder {
		us = append(us, p)
	}
	scalars := [][32]byte{{}, {0: 0xff, 31: 0xff}}
	for range 8 {
		var k [32]byte
		rand.Read(k[:])
		scalars = append(scalars, k)
	}
	for _, k := range scalars {
		for _, u := range us {
			var a, b [32]byte
			x25519Ladder(&a, &k, &u)
			scalarMult(&b, &k, &u)
			if a != b {
				t.Fatalf("k %x u %x: portable %x, platform %x", k, u, a, b)
			}
		}
	}
}

// Every low-order u (with and without bit 255) gives the all-zero result
// and so the error, for any scalar.
func TestX25519LowOrder(t *testing.T) {
	for range 4 {
		var sk [32]byte
		rand.Read(sk[:])
		for i, p := range x25519LowOrder {
			for _, top := range []byte{0, 0x80} {
				u := p
				u[31] |= top
				var out [32]byte
				if err := x25519(&out, &sk, &u); !errors.Is(err, errX25519LowOrder) {
					t.Errorf("point %d (top bit %#x): err = %v, want errX25519LowOrder", i, top, err)
				}
			}
		}
	}
}

// newEphemeral's public key is X25519 of its secret with the base point.
func TestNewEphemeral(t *testing.T) {
	for range 20 {
		priv, pub, err := newEphemeral(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var got [32]byte
		if err := x25519(&got, &priv, &[32]byte{9}); err != nil {
			t.Fatal(err)
		}
		if got != pub {
			t.Fatalf("public %x, X25519(secret, 9) = %x", pub, got)
		}
	}
	if _, _, err := newEphemeral(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("a short random source gave no error")
	}
}

// BenchmarkX25519Ladder is the ladder the handshake uses (CIRCL's on
// amd64), BenchmarkX25519Portable the portable one.
func BenchmarkX25519Ladder(b *testing.B)   { benchLadder(b, scalarMult) }
func BenchmarkX25519Portable(b *testing.B) { benchLadder(b, x25519Ladder) }

func benchLadder(b *testing.B, mul func(dst, scalar, point *[32]byte)) {
	var sk, u [32]byte
	rand.Read(sk[:])
	u = x25519Base(&sk)
	rand.Read(sk[:])
	var out [32]byte
	for b.Loop() {
		mul(&out, &sk, &u)
	}
}

func BenchmarkX25519Base(b *testing.B) {
	var sk [32]byte
	rand.Read(sk[:])
	for b.Loop() {
		x25519Base(&sk)
	}
}

func BenchmarkECDHGenerateKey(b *testing.B) {
	for b.Loop() {
		if _, err := ecdh.X25519().GenerateKey(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkECDH(b *testing.B) {
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for b.Loop() {
		if _, err := priv.ECDH(peer.PublicKey()); err != nil {
			b.Fatal(err)
		}
	}
}
