//go:build !amd64 || purego

package shake

import "crypto/ed25519"

// The portable curve operations (see curve_amd64.go for why amd64 differs).

func scalarMult(dst, scalar, point *[32]byte) { x25519Ladder(dst, scalar, point) }

func x25519Base(scalar *[32]byte) [32]byte { return x25519BasePortable(scalar) }

func sign(priv ed25519.PrivateKey, msg []byte) []byte { return ed25519.Sign(priv, msg) }

func verifySig(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false // ed25519.Verify panics on a bad key length
	}
	return ed25519.Verify(pub, msg, sig)
}

func remoteX25519(pk []byte) ([32]byte, bool) { return remoteX25519Portable(pk) }
