// Copyright 2022 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.
//
// x25519Ladder is a port of crypto/ecdh's x25519ScalarMult (Go 1.26,
// src/crypto/ecdh/x25519.go) onto filippo.io/edwards25519/field, the
// same field code that crypto/ecdh uses internally. The rest of the file
// belongs to this project.

package shake

import (
	"errors"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// errX25519LowOrder is what x25519 returns for an all-zero result: the
// peer's point has small order (crypto/ecdh and x/crypto/curve25519 fail
// the same way). Callers map it onto their sentinel.
var errX25519LowOrder = errors.New("shake: X25519 result is all zero (low-order point)")

// Why not crypto/ecdh: its NewPrivateKey and GenerateKey compute the
// public key with a full Montgomery ladder, also for keys whose public key
// is never needed (our long-term X25519 scalar) or that can be computed
// far more cheaply by fixed-base multiplication on the Edwards curve (our
// ephemeral keys). Here a private key is only its 32 scalar bytes.

// newEphemeral draws a fresh ephemeral X25519 key pair from r. priv is the
// raw random scalar (X25519 clamps it when used); pub is X25519(priv, 9).
func newEphemeral(r io.Reader) (priv, pub [32]byte, err error) {
	if _, err = io.ReadFull(r, priv[:]); err != nil {
		return priv, pub, err
	}
	pub = x25519Base(&priv)
	return priv, pub, nil
}

// x25519BasePortable returns X25519(scalar, 9) by fixed-base multiplication on the
// birationally equivalent Edwards curve: [clamp(scalar)]B has the
// Montgomery u-coordinate X25519 computes, and B has order L, so reducing
// the clamped scalar mod L does not change the point. clamp(scalar) is
// never a multiple of L (it lies in [2^254, 2^255) and is a multiple of 8,
// while 8L > 2^255), so the point is never the identity. Constant time.
func x25519BasePortable(scalar *[32]byte) [32]byte {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(scalar[:])
	if err != nil {
		panic("shake: SetBytesWithClamping rejected 32 bytes") // cannot happen
	}
	var p edwards25519.Point
	p.ScalarBaseMult(s)
	var u [32]byte
	copy(u[:], p.BytesMontgomery())
	return u
}

// x25519 computes X25519(scalar, point) into dst (RFC 7748 §5: the scalar
// is clamped, bit 255 of point is ignored, non-canonical u are reduced).
// It fails with errX25519LowOrder if the result is all zero, which happens
// exactly when point has small order. Constant time in scalar.
func x25519(dst, scalar, point *[32]byte) error {
	scalarMult(dst, scalar, point)
	var acc byte
	for _, b := range dst {
		acc |= b
	}
	if acc == 0 {
		return errX25519LowOrder
	}
	return nil
}

// x25519Ladder is the portable Montgomery ladder; scalarMult may be a
// faster one for this platform (curve_amd64.go).
func x25519Ladder(dst, scalar, point *[32]byte) {
	var e [32]byte

	copy(e[:], scalar[:])
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64

	var x1, x2, z2, x3, z3, tmp0, tmp1 field.Element
	if _, err := x1.SetBytes(point[:]); err != nil {
		panic("shake: field SetBytes rejected 32 bytes") // cannot happen
	}
	x2.One()
	x3.Set(&x1)
	z3.One()

	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := e[pos/8] >> uint(pos&7)
		b &= 1
		swap ^= int(b)
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = int(b)

		tmp0.Subtract(&x3, &z3)
		tmp1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&tmp0, &x2)
		z2.Multiply(&z2, &tmp1)
		tmp0.Square(&tmp1)
		tmp1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0)
		z2.Square(&z2)

		z3.Mult32(&tmp1, 121666)
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}

	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(dst[:], x2.Bytes())
}
