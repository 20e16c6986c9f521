package shake

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

// Every blacklisted point, with or without bit 255, gives X25519's
// all-zero result (so CheckHello refuses exactly what ECDH would), and
// ordinary keys are not flagged.
func TestLowOrderX25519(t *testing.T) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range x25519LowOrder {
		for _, top := range []byte{0, 0x80} {
			u := p
			u[31] |= top
			if !lowOrderX25519(u[:]) {
				t.Errorf("point %d (top bit %#x) not flagged", i, top)
			}
			pub, err := ecdh.X25519().NewPublicKey(u[:])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := priv.ECDH(pub); err == nil {
				t.Errorf("point %d (top bit %#x): X25519 did not fail, so it is not of low order", i, top)
			}
		}
	}
	for range 100 {
		k, _ := ecdh.X25519().GenerateKey(rand.Reader)
		if lowOrderX25519(k.PublicKey().Bytes()) {
			t.Fatal("a random public key was flagged")
		}
	}
}
