package xsalsa

import (
	"encoding/binary"
	"math/bits"
)

// hsalsa20 derives the XSalsa20 subkey of key for the nonce's first 16
// bytes: twenty Salsa20 rounds over (sigma, key, prefix), no final
// addition, words 0, 5, 10, 15, 6, 7, 8, 9 out.
func hsalsa20(out *[32]byte, prefix *[16]byte, key *[32]byte) {
	k := func(i int) uint32 { return binary.LittleEndian.Uint32(key[4*i:]) }
	n := func(i int) uint32 { return binary.LittleEndian.Uint32(prefix[4*i:]) }
	x0, x5, x10, x15 := uint32(0x61707865), uint32(0x3320646e), uint32(0x79622d32), uint32(0x6b206574)
	x1, x2, x3, x4 := k(0), k(1), k(2), k(3)
	x11, x12, x13, x14 := k(4), k(5), k(6), k(7)
	x6, x7, x8, x9 := n(0), n(1), n(2), n(3)
	r := bits.RotateLeft32
	for range 10 {
		x4 ^= r(x0+x12, 7)
		x8 ^= r(x4+x0, 9)
		x12 ^= r(x8+x4, 13)
		x0 ^= r(x12+x8, 18)

		x9 ^= r(x5+x1, 7)
		x13 ^= r(x9+x5, 9)
		x1 ^= r(x13+x9, 13)
		x5 ^= r(x1+x13, 18)

		x14 ^= r(x10+x6, 7)
		x2 ^= r(x14+x10, 9)
		x6 ^= r(x2+x14, 13)
		x10 ^= r(x6+x2, 18)

		x3 ^= r(x15+x11, 7)
		x7 ^= r(x3+x15, 9)
		x11 ^= r(x7+x3, 13)
		x15 ^= r(x11+x7, 18)

		x1 ^= r(x0+x3, 7)
		x2 ^= r(x1+x0, 9)
		x3 ^= r(x2+x1, 13)
		x0 ^= r(x3+x2, 18)

		x6 ^= r(x5+x4, 7)
		x7 ^= r(x6+x5, 9)
		x4 ^= r(x7+x6, 13)
		x5 ^= r(x4+x7, 18)

		x11 ^= r(x10+x9, 7)
		x8 ^= r(x11+x10, 9)
		x9 ^= r(x8+x11, 13)
		x10 ^= r(x9+x8, 18)

		x12 ^= r(x15+x14, 7)
		x13 ^= r(x12+x15, 9)
		x14 ^= r(x13+x12, 13)
		x15 ^= r(x14+x13, 18)
	}
	for i, v := range [8]uint32{x0, x5, x10, x15, x6, x7, x8, x9} {
		binary.LittleEndian.PutUint32(out[4*i:], v)
	}
}
