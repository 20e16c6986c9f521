// Command xsalsa_amd64_asm generates ../xsalsa_amd64.s: Salsa20 over four
// or eight blocks at once with AVX2, and Poly1305 blocks with MULX.
//
//	cd secure/shs/internal/xsalsa && go generate
//
// runs it (this directory is its own module, so avo is not a dependency of
// the library).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	lanes := GLOBL("salsaLanes", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(uint32(i)))
	}
	salsa(8, lanes, false)
	salsa(4, lanes, false)
	salsa(8, lanes, true)
	block()
	poly()
	Generate()
}

// A quarter-round step: x[b] ^= (x[a] + x[d]) <<< r.
type step struct {
	b, a, d int
	r       uint64
}

// doubleRound is Salsa20's column round then row round, in step order.
func doubleRound() []step {
	qr := func(y0, y1, y2, y3 int) []step {
		// y1 ^= (y0+y3)<<<7; y2 ^= (y1+y0)<<<9; y3 ^= (y2+y1)<<<13; y0 ^= (y3+y2)<<<18
		return []step{{y1, y0, y3, 7}, {y2, y1, y0, 9}, {y3, y2, y1, 13}, {y0, y3, y2, 18}}
	}
	var s []step
	for _, q := range [][4]int{{0, 4, 8, 12}, {5, 9, 13, 1}, {10, 14, 2, 6}, {15, 3, 7, 11}, // columns
		{0, 1, 2, 3}, {5, 6, 7, 4}, {10, 11, 8, 9}, {15, 12, 13, 14}} { // rows
		s = append(s, qr(q[0], q[1], q[2], q[3])...)
	}
	return s
}

// words keeps the 16 state vectors, at most maxRegs of them in registers
// and the rest in stack slots; it evicts the word whose next use is
// furthest away (the schedule is fixed, so that choice is optimal).
type words struct {
	vec   func() VecVirtual
	slots Mem
	size  int
	reg   [16]VecVirtual
	in    [16]bool
	dirty [16]bool
	uses  []int // remaining schedule of word uses
	max   int
}

func (w *words) slot(i int) Mem { return w.slots.Offset(i * w.size) }

func (w *words) nextUse(i int) int {
	for k, u := range w.uses {
		if u == i {
			return k
		}
	}
	return 1 << 30
}

func (w *words) get(i int, pinned ...int) VecVirtual {
	if w.in[i] {
		return w.reg[i]
	}
	n := 0
	for j := range w.in {
		if w.in[j] {
			n++
		}
	}
	if n >= w.max {
		victim, far := -1, -1
		for j := range w.in {
			if !w.in[j] || contains(pinned, j) {
				continue
			}
			if u := w.nextUse(j); u > far {
				victim, far = j, u
			}
		}
		w.flush(victim)
	}
	w.reg[i] = w.vec()
	VMOVDQU(w.slot(i), w.reg[i])
	w.in[i], w.dirty[i] = true, false
	return w.reg[i]
}

func (w *words) flush(i int) {
	if w.dirty[i] {
		VMOVDQU(w.reg[i], w.slot(i))
	}
	w.in[i], w.dirty[i] = false, false
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// salsa emits xorBlocks<n>(dst, src *byte, groups int, state *[16]uint32):
// for each of groups groups of n consecutive 64-byte blocks, dst = src XOR
// the Salsa20 keystream of state, whose block counter (words 8 and 9)
// advances by n per group. The caller keeps the low counter word from
// wrapping inside a group.
//
// With withPoly it emits xorBlocks8Poly, which also runs Poly1305 (as
// polyBlocks, hibit 1) over 512 bytes at poly per group, its scalar
// multiplications interleaved with the vector rounds so that the two use
// the integer and the vector units at the same time.
func salsa(n int, lanes Mem, withPoly bool) {
	name := fmt.Sprintf("xorBlocks%d", n)
	sig := "func(dst, src *byte, groups int, state *[16]uint32)"
	doc := fmt.Sprintf("%s XORs groups*%d blocks of Salsa20 keystream into src, writing dst.", name, n)
	if withPoly {
		name += "Poly"
		sig = "func(dst, src *byte, groups int, state *[16]uint32, pst *[5]uint64, poly *byte)"
		doc = name + " is xorBlocks8 and polyBlocks over 512 bytes at poly per group, interleaved."
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc)
	size := 4 * n
	vec := func() VecVirtual { return YMM() }
	if n == 4 {
		vec = func() VecVirtual { return XMM() }
	}
	// Pointers and the count live on the stack across the rounds, which
	// need the general registers for Poly1305.
	dstM, srcM, groupsM := AllocLocal(8), AllocLocal(8), AllocLocal(8)
	for _, p := range []struct {
		name string
		m    Mem
	}{{"dst", dstM}, {"src", srcM}, {"groups", groupsM}} {
		r := Load(Param(p.name), GP64())
		MOVQ(r, p.m)
	}
	slots := AllocLocal(16 * size)
	ctr := AllocLocal(size)
	var pst, pmsg, h0, h1, h2 Register
	if withPoly {
		pst = Load(Param("pst"), GP64())
		pmsg = Load(Param("poly"), GP64())
		h0, h1, h2 = GP64(), GP64(), GP64()
		MOVQ(Mem{Base: pst}, h0)
		MOVQ(Mem{Base: pst, Disp: 8}, h1)
		MOVQ(Mem{Base: pst, Disp: 16}, h2)
	}

	Label(name + "_loop")
	CMPQ(groupsM, Imm(0))
	JE(LabelRef(name + "_done"))
	st := Load(Param("state"), GP64())

	Comment("Initial state, one word per vector, one block per lane.")
	for i := 0; i < 16; i++ {
		v := vec()
		VPBROADCASTD(Mem{Base: st, Disp: 4 * i}, v)
		if i == 8 {
			VPADDD(lanes, v, v)
			VMOVDQU(v, ctr)
		}
		VMOVDQU(v, slots.Offset(i*size))
	}
	w := &words{vec: vec, slots: slots, size: size, max: 14}
	var sched []step
	for i := 0; i < 10; i++ {
		sched = append(sched, doubleRound()...)
	}
	for _, s := range sched {
		w.uses = append(w.uses, s.a, s.d, s.b)
	}
	Comment("Twenty rounds.")
	for i, s := range sched {
		a := w.get(s.a, s.a, s.d, s.b)
		d := w.get(s.d, s.a, s.d, s.b)
		b := w.get(s.b, s.a, s.d, s.b)
		w.uses = w.uses[3:]
		t, u := vec(), vec()
		VPADDD(a, d, t)
		VPSLLD(U8(s.r), t, u)
		VPSRLD(U8(32-s.r), t, t)
		VPXOR(u, b, b)
		VPXOR(t, b, b)
		w.dirty[s.b] = true
		if withPoly && i%10 == 9 {
			polyBlock(Mem{Base: pmsg, Disp: 16 * (i / 10)}, Imm(1), pst, h0, h1, h2)
		}
	}
	for i := 0; i < 16; i++ {
		if w.in[i] {
			w.flush(i)
		}
	}

	Comment("Add the initial state, transpose to blocks, XOR.")
	st = Load(Param("state"), GP64())
	dst, src := GP64(), GP64()
	MOVQ(dstM, dst)
	MOVQ(srcM, src)
	// feed loads word i plus its initial value.
	feed := func(i int) VecVirtual {
		v, t := vec(), vec()
		VMOVDQU(slots.Offset(i*size), v)
		if i == 8 {
			VMOVDQU(ctr, t)
		} else {
			VPBROADCASTD(Mem{Base: st, Disp: 4 * i}, t)
		}
		VPADDD(t, v, v)
		return v
	}
	// quad transposes words 4q..4q+3: u[j] holds them for block j (and,
	// with eight lanes, block j+4 in the high half).
	quad := func(q int) [4]VecVirtual {
		r := [4]VecVirtual{feed(4 * q), feed(4*q + 1), feed(4*q + 2), feed(4*q + 3)}
		t0, t1, t2, t3 := vec(), vec(), vec(), vec()
		VPUNPCKLDQ(r[1], r[0], t0)
		VPUNPCKHDQ(r[1], r[0], t1)
		VPUNPCKLDQ(r[3], r[2], t2)
		VPUNPCKHDQ(r[3], r[2], t3)
		VPUNPCKLQDQ(t2, t0, r[0])
		VPUNPCKHQDQ(t2, t0, r[1])
		VPUNPCKLQDQ(t3, t1, r[2])
		VPUNPCKHQDQ(t3, t1, r[3])
		return r
	}
	out := func(v VecVirtual, off int) {
		VPXOR(Mem{Base: src, Disp: off}, v, v)
		VMOVDQU(v, Mem{Base: dst, Disp: off})
	}
	if n == 4 {
		for q := 0; q < 4; q++ {
			u := quad(q)
			for j := 0; j < 4; j++ {
				out(u[j], 64*j+16*q)
			}
		}
	} else {
		for q := 0; q < 4; q += 2 {
			lo, hi := quad(q), quad(q+1)
			for j := 0; j < 4; j++ {
				a, b := YMM(), YMM()
				VPERM2I128(U8(0x20), hi[j], lo[j], a)
				VPERM2I128(U8(0x31), hi[j], lo[j], b)
				out(a, 64*j+16*q)
				out(b, 64*(j+4)+16*q)
			}
		}
	}

	ADDL(U32(uint32(n)), Mem{Base: st, Disp: 32})
	ADCL(U32(0), Mem{Base: st, Disp: 36})
	ADDQ(U32(uint32(64*n)), srcM)
	ADDQ(U32(uint32(64*n)), dstM)
	if withPoly {
		ADDQ(U32(512), pmsg)
	}
	DECQ(groupsM)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_done")
	if withPoly {
		MOVQ(h0, Mem{Base: pst})
		MOVQ(h1, Mem{Base: pst, Disp: 8})
		MOVQ(h2, Mem{Base: pst, Disp: 16})
	}
	VZEROUPPER()
	RET()
}

// poly emits polyBlocks(st *[5]uint64, msg *byte, blocks int, hibit uint64):
// Poly1305 over blocks 16-byte blocks, each with hibit<<128 added, on the
// accumulator st[0:3] with the clamped key r = st[3:5]. The same
// arithmetic as x/crypto's generic code, with MULX.
func poly() {
	TEXT("polyBlocks", NOSPLIT, "func(st *[5]uint64, msg *byte, blocks int, hibit uint64)")
	Pragma("noescape")
	Doc("polyBlocks absorbs blocks 16-byte blocks of msg into the Poly1305 state st.")
	st := Load(Param("st"), GP64())
	msg := Load(Param("msg"), GP64())
	blocks := Load(Param("blocks"), GP64())
	hibit := Load(Param("hibit"), GP64())
	h0, h1, h2 := GP64(), GP64(), GP64()
	MOVQ(Mem{Base: st}, h0)
	MOVQ(Mem{Base: st, Disp: 8}, h1)
	MOVQ(Mem{Base: st, Disp: 16}, h2)

	Label("poly_loop")
	CMPQ(blocks, Imm(0))
	JE(LabelRef("poly_done"))
	polyBlock(Mem{Base: msg}, hibit, st, h0, h1, h2)
	ADDQ(Imm(16), msg)
	DECQ(blocks)
	JMP(LabelRef("poly_loop"))

	Label("poly_done")
	MOVQ(h0, Mem{Base: st})
	MOVQ(h1, Mem{Base: st, Disp: 8})
	MOVQ(h2, Mem{Base: st, Disp: 16})
	RET()
}

// polyBlock absorbs the 16-byte block at m, with hibit<<128 added, into
// h0, h1, h2, with r at 24(st) and 32(st).
func polyBlock(m Mem, hibit Op, st, h0, h1, h2 Register) {
	r0, r1 := Mem{Base: st, Disp: 24}, Mem{Base: st, Disp: 32}
	ADDQ(m, h0)
	ADCQ(m.Offset(8), h1)
	ADCQ(hibit, h2)

	Comment("h * r; h2 <= 7 and the top bits of r0, r1 are clear, so")
	Comment("h2*r0, h2*r1 and the sums of products do not overflow.")
	t1, t2, t3 := GP64(), GP64(), GP64()
	a0, a1, b0, b1 := GP64(), GP64(), GP64(), GP64()
	MOVQ(h0, RDX)
	MULXQ(r0, h0, t1) // h0*r0 = t1:h0
	MULXQ(r1, a0, a1) // h0*r1
	MOVQ(h1, RDX)
	MULXQ(r0, b0, b1) // h1*r0
	ADDQ(b0, a0)      // m1 = h0*r1 + h1*r0
	ADCQ(b1, a1)
	MULXQ(r1, t2, t3) // h1*r1
	MOVQ(h2, b0)
	IMULQ(r0, b0) // h2*r0
	ADDQ(b0, t2)  // m2 = h1*r1 + h2*r0
	ADCQ(Imm(0), t3)
	IMULQ(r1, h2) // m3 = h2*r1
	ADDQ(a0, t1)  // t1 = m1.lo + h0r0.hi
	ADCQ(a1, t2)  // t2 = m2.lo + m1.hi + c
	ADCQ(h2, t3)  // t3 = m3 + m2.hi + c

	Comment("Partial reduction: h = t mod 2^130 + (t >> 130) * 5.")
	MOVQ(t1, h1)
	MOVQ(t2, h2)
	ANDQ(Imm(3), h2)
	ANDQ(I32(-4), t2)
	ADDQ(t2, h0)
	ADCQ(t3, h1)
	ADCQ(Imm(0), h2)
	SHRQ(U8(2), t3, t2) // SHRD: t2 = t2>>2 | t3<<62
	SHRQ(U8(2), t3)
	ADDQ(t2, h0)
	ADCQ(t3, h1)
	ADCQ(Imm(0), h2)

}

// block emits salsaBlock(out, in *[64]byte): one Salsa20 block with the
// state held by diagonals in four vectors, for messages too short for the
// four-block code. in and out hold the words in the order
// 0 5 10 15 | 4 9 14 3 | 8 13 2 7 | 12 1 6 11; the caller lays them out.
func block() {
	TEXT("salsaBlock", NOSPLIT, "func(out, in *[64]byte)")
	Pragma("noescape")
	Doc("salsaBlock computes one Salsa20 block, state and result by diagonals.")
	out := Load(Param("out"), GP64())
	in := Load(Param("in"), GP64())
	a, b, c, d := XMM(), XMM(), XMM(), XMM()
	VMOVDQU(Mem{Base: in}, a)
	VMOVDQU(Mem{Base: in, Disp: 16}, b)
	VMOVDQU(Mem{Base: in, Disp: 32}, c)
	VMOVDQU(Mem{Base: in, Disp: 48}, d)
	// x ^= (y + z) <<< r
	step := func(x, y, z VecVirtual, r uint64) {
		t, u := XMM(), XMM()
		VPADDD(y, z, t)
		VPSLLD(U8(r), t, u)
		VPSRLD(U8(32-r), t, t)
		VPXOR(u, x, x)
		VPXOR(t, x, x)
	}
	for i := 0; i < 10; i++ {
		// Column round: b = (4 9 14 3), c = (8 13 2 7), d = (12 1 6 11).
		step(b, a, d, 7)
		step(c, b, a, 9)
		step(d, c, b, 13)
		step(a, d, c, 18)
		// Row round on (3 4 9 14), (2 7 8 13), (1 6 11 12).
		VPSHUFD(U8(0x93), b, b)
		VPSHUFD(U8(0x4e), c, c)
		VPSHUFD(U8(0x39), d, d)
		step(d, a, b, 7)
		step(c, d, a, 9)
		step(b, c, d, 13)
		step(a, b, c, 18)
		VPSHUFD(U8(0x39), b, b)
		VPSHUFD(U8(0x4e), c, c)
		VPSHUFD(U8(0x93), d, d)
	}
	VPADDD(Mem{Base: in}, a, a)
	VPADDD(Mem{Base: in, Disp: 16}, b, b)
	VPADDD(Mem{Base: in, Disp: 32}, c, c)
	VPADDD(Mem{Base: in, Disp: 48}, d, d)
	VMOVDQU(a, Mem{Base: out})
	VMOVDQU(b, Mem{Base: out, Disp: 16})
	VMOVDQU(c, Mem{Base: out, Disp: 32})
	VMOVDQU(d, Mem{Base: out, Disp: 48})
	RET()
}
