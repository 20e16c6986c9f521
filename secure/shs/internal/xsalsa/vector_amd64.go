//go:build !purego

package xsalsa

import (
	"crypto/subtle"
	"encoding/binary"
	"math/bits"

	"golang.org/x/sys/cpu"
)

// useAsm is read once: GODEBUG=cpu.avx2=off (or cpu.bmi2=off) selects the
// portable path.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasBMI2

// zero is the source the keystream is XORed into when it is needed on its
// own (the Poly1305 key and partial groups).
var zero [512]byte

// initState lays out the Salsa20 input for subkey sub, the nonce's last 8
// bytes and block counter 0.
func initState(st *[16]uint32, sub *[32]byte, nonce *[24]byte) {
	k := func(i int) uint32 { return binary.LittleEndian.Uint32(sub[4*i:]) }
	st[0], st[5], st[10], st[15] = 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574
	st[1], st[2], st[3], st[4] = k(0), k(1), k(2), k(3)
	st[11], st[12], st[13], st[14] = k(4), k(5), k(6), k(7)
	st[6] = binary.LittleEndian.Uint32(nonce[16:])
	st[7] = binary.LittleEndian.Uint32(nonce[20:])
	st[8], st[9] = 0, 0
}

// first computes the keystream from block 0 into ks, one block, four or
// eight, the fewest that cover a message of n bytes after the 32-byte
// Poly1305 key, and returns how many message bytes ks covers.
func first(ks *[512]byte, st *[16]uint32, n int) int {
	switch {
	case n <= 64-32:
		block(ks, st)
		return 64 - 32
	case n <= 256-32:
		xorBlocks4(&ks[0], &zero[0], 1, st)
		return 256 - 32
	}
	xorBlocks8(&ks[0], &zero[0], 1, st)
	return 512 - 32
}

// diagonal is the order of the state words in salsaBlock's vectors.
var diagonal = [16]int{0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11}

// block writes the keystream block at st's counter to ks[:64] and steps
// the counter.
func block(ks *[512]byte, st *[16]uint32) {
	var in, out [64]byte
	for j, w := range diagonal {
		binary.LittleEndian.PutUint32(in[4*j:], st[w])
	}
	salsaBlock(&out, &in)
	for j, w := range diagonal {
		copy(ks[4*w:4*w+4], out[4*j:4*j+4])
	}
	st[8]++
	if st[8] == 0 {
		st[9]++
	}
}

// xorStream XORs src into dst with the keystream from st's counter on.
func xorStream(dst, src []byte, st *[16]uint32, ks *[512]byte) {
	if g := len(src) / 512; g > 0 {
		xorBlocks8(&dst[0], &src[0], g, st)
		dst, src = dst[g*512:], src[g*512:]
	}
	if len(src) == 0 {
		return
	}
	switch {
	case len(src) <= 64:
		block(ks, st)
	case len(src) <= 256:
		xorBlocks4(&ks[0], &zero[0], 1, st)
	default:
		xorBlocks8(&ks[0], &zero[0], 1, st)
	}
	subtle.XORBytes(dst, src, ks[:len(src)])
}

// seal writes the box of message (tag, then ciphertext) to out.
func seal(out, message []byte, nonce *[24]byte, sub *[32]byte) {
	var st [16]uint32
	var ks [512]byte
	initState(&st, sub, nonce)
	f := min(first(&ks, &st, len(message)), len(message))
	ct := out[Overhead:]
	var p poly
	p.init(ks[:32]) // before xorStream reuses ks
	subtle.XORBytes(ct[:f], message[:f], ks[32:32+f])
	if g := (len(message) - f) / 512; g >= 2 {
		// Whole groups after the first: the MAC of each group's
		// ciphertext is computed while the next group is encrypted.
		xorBlocks8(&ct[f], &message[f], 1, &st)
		p.update(ct[:f])
		xorBlocks8Poly(&ct[f+512], &message[f+512], g-1, &st, &p.st, &ct[f])
		done := f + 512*g
		xorStream(ct[done:], message[done:], &st, &ks)
		p.update(ct[done-512:])
	} else {
		xorStream(ct[f:], message[f:], &st, &ks)
		p.update(ct)
	}
	p.sum((*[16]byte)(out[:Overhead]))
}

// open checks box's tag and writes the message to out. If the tag is
// wrong it returns false, and out may hold a part of the message, which
// the caller clears.
func open(out, box []byte, nonce *[24]byte, sub *[32]byte) bool {
	var st [16]uint32
	var ks [512]byte
	initState(&st, sub, nonce)
	ct := box[Overhead:]
	f := min(first(&ks, &st, len(ct)), len(ct))
	var p poly
	p.init(ks[:32])
	done := f
	if g := (len(ct) - f) / 512; g >= 1 {
		// Whole groups: decrypt and MAC each in one pass.
		p.update(ct[:f])
		subtle.XORBytes(out[:f], ct[:f], ks[32:32+f])
		xorBlocks8Poly(&out[f], &ct[f], g, &st, &p.st, &ct[f])
		done = f + 512*g
		p.update(ct[done:])
	} else {
		p.update(ct)
	}
	var tag [16]byte
	p.sum(&tag)
	if subtle.ConstantTimeCompare(tag[:], box[:Overhead]) != 1 {
		return false
	}
	if done == f {
		subtle.XORBytes(out[:f], ct[:f], ks[32:32+f])
	}
	xorStream(out[done:], ct[done:], &st, &ks)
	return true
}

// poly is Poly1305: st holds the accumulator h (three limbs) and the
// clamped r (two), s the final addend.
type poly struct {
	st [5]uint64
	s  [2]uint64
}

func (p *poly) init(key []byte) {
	p.st = [5]uint64{0, 0, 0,
		binary.LittleEndian.Uint64(key[0:]) & 0x0FFFFFFC0FFFFFFF,
		binary.LittleEndian.Uint64(key[8:]) & 0x0FFFFFFC0FFFFFFC}
	p.s = [2]uint64{binary.LittleEndian.Uint64(key[16:]), binary.LittleEndian.Uint64(key[24:])}
}

func (p *poly) update(msg []byte) {
	if n := len(msg) / 16; n > 0 {
		polyBlocks(&p.st, &msg[0], n, 1)
		msg = msg[n*16:]
	}
	if len(msg) > 0 {
		// The last partial block: its bytes, a 1, zeros; no 2^128 bit.
		var b [16]byte
		copy(b[:], msg)
		b[len(msg)] = 1
		polyBlocks(&p.st, &b[0], 1, 0)
	}
}

// sum reduces h modulo 2^130-5 without branching and adds s.
func (p *poly) sum(out *[16]byte) {
	h0, h1, h2 := p.st[0], p.st[1], p.st[2]
	t0, b := bits.Sub64(h0, 0xFFFFFFFFFFFFFFFB, 0)
	t1, b := bits.Sub64(h1, 0xFFFFFFFFFFFFFFFF, b)
	_, b = bits.Sub64(h2, 3, b)
	// b == 1: h < p, keep h; b == 0: take h - p.
	mask := -b
	h0 = h0&mask | t0&^mask
	h1 = h1&mask | t1&^mask
	h0, c := bits.Add64(h0, p.s[0], 0)
	h1, _ = bits.Add64(h1, p.s[1], c)
	binary.LittleEndian.PutUint64(out[0:], h0)
	binary.LittleEndian.PutUint64(out[8:], h1)
}
