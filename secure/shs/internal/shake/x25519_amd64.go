//go:build !purego

package shake

import circl "github.com/cloudflare/circl/dh/x25519"

// On amd64 the ladder comes from CIRCL: its field arithmetic uses 64-bit
// limbs and, where the CPU has them, MULX/ADCX/ADOX (it checks at run
// time and falls back to plain MULQ code). Measured on the CI machine
// (AMD EPYC, BenchmarkX25519Ladder): 46 µs against 70 µs for the
// portable ladder, which is six ladders per handshake. TestLadders checks
// that both give the same results.
func scalarMult(dst, scalar, point *[32]byte) {
	// Shared clamps the scalar, clears bit 255 of the point and reduces it
	// mod p, as RFC 7748 asks. Its boolean (the point is in its low-order
	// list) is not used: x25519 rejects an all-zero result instead, which
	// covers the same points and any the list might miss.
	circl.Shared((*circl.Key)(dst), (*circl.Key)(scalar), (*circl.Key)(point))
}
