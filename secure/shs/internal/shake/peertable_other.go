//go:build !amd64 || purego

package shake

// mulPeer sets dst to X25519(eph, x), x being the X25519 form of the
// peer's key pub. The precomputed tables of peertable_amd64.go need
// curve25519-voi, used on amd64 only.
func mulPeer(dst, eph *[32]byte, pub []byte, x *[32]byte) error {
	return x25519(dst, eph, x)
}

// notePeer counts a completed handshake with pub; without tables there is
// nothing to count.
func notePeer(pub []byte) {}
