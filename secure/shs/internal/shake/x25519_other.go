//go:build !amd64 || purego

package shake

func scalarMult(dst, scalar, point *[32]byte) { x25519Ladder(dst, scalar, point) }
