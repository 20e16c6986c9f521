//go:build !purego

package xsalsa

import "testing"

// BenchmarkStitch measures what Poly1305 adds to the AVX2 Salsa20 core
// over 4,096 bytes: the keystream alone (xorBlocks8), the keystream with
// Poly1305 stitched in (xorBlocks8Poly, as open runs it), and Poly1305
// alone (polyBlocks, scalar MULX). The difference between the first two
// bounds what any faster Poly1305 could save: the scalar one runs on the
// integer units while Salsa20 keeps the vector units busy, where a vector
// Poly1305 would compete with it.
func BenchmarkStitch(b *testing.B) {
	src := make([]byte, 4096)
	dst := make([]byte, 4096)
	var st [16]uint32
	var pst [5]uint64
	b.Run("salsa", func(b *testing.B) {
		b.SetBytes(4096)
		for b.Loop() {
			xorBlocks8(&dst[0], &src[0], 8, &st)
		}
	})
	b.Run("salsa+poly", func(b *testing.B) {
		b.SetBytes(4096)
		for b.Loop() {
			xorBlocks8Poly(&dst[0], &src[0], 8, &st, &pst, &src[0])
		}
	})
	b.Run("poly", func(b *testing.B) {
		b.SetBytes(4096)
		for b.Loop() {
			polyBlocks(&pst, &src[0], 256, 1<<40)
		}
	})
}
