package shake

import (
	"crypto/ed25519"
	"testing"

	"filippo.io/edwards25519"
)

// smallOrderEnc holds eight distinct canonical encodings of points of small
// order; there are exactly eight such points, so the list is complete.
func TestSmallOrderEncodings(t *testing.T) {
	seen := map[[32]byte]bool{}
	for i, e := range smallOrderEnc {
		p, err := new(edwards25519.Point).SetBytes(e[:])
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if [32]byte(p.Bytes()) != e {
			t.Errorf("%d: %x is not canonical", i, e)
		}
		if !hasSmallOrder(p) {
			t.Errorf("%d: %x does not have small order", i, e)
		}
		seen[e] = true
	}
	if len(seen) != 8 {
		t.Errorf("%d distinct encodings, want 8", len(seen))
	}
}

// The owner of a key can sign with R = identity (S = k·a makes
// [S]B - [k]A the identity). Go's ed25519.Verify accepts that signature;
// libsodium refuses it, and so must verify.
func TestVerifyRefusesSmallOrderR(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("msg3 or msg4 plaintext")
	if !verify(pub, msg, ed25519.Sign(priv, msg)) {
		t.Fatal("an honest signature does not verify")
	}
	sig := identityRSignature(t, priv, msg)
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatal("crafted identity-R signature does not pass ed25519.Verify; the test proves nothing")
	}
	if verify(pub, msg, sig) {
		t.Error("verify accepted a signature whose R is the identity")
	}
}
