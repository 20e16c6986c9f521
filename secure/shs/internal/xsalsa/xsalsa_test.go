package xsalsa

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// check seals msg with s at offset i and with secretbox under nonce (which
// the caller computed on its own), compares the boxes, opens the box with
// both, and checks that a box with any one bit flipped in the tag or the
// ciphertext does not open. pre bytes already in out and the offsets of
// msg and out in their buffers exercise appending and misaligned buffers.
func check(t *testing.T, s *Sequence, i uint64, key *[32]byte, nonce *[24]byte, msg []byte, pre, off int) {
	t.Helper()
	want := secretbox.Seal(nil, msg, nonce, key)

	buf := make([]byte, off+pre+len(msg)+Overhead)
	prefix := buf[off : off+pre]
	rand.Read(prefix)
	keep := bytes.Clone(prefix)
	got := s.Seal(prefix, msg, i)
	if !bytes.Equal(got[:pre], keep) {
		t.Fatalf("len %d: Seal changed the bytes already in out", len(msg))
	}
	if !bytes.Equal(got[pre:], want) {
		t.Fatalf("len %d off %d: Seal differs from secretbox.Seal", len(msg), off)
	}
	if &got[0] != &buf[off] {
		t.Fatalf("len %d: Seal allocated although out had room", len(msg))
	}

	// Open from a misaligned copy into a misaligned buffer.
	box := make([]byte, off+len(want))[off:]
	copy(box, want)
	dst := make([]byte, off+pre+len(msg))[off:][:pre]
	copy(dst, keep)
	opened, ok := s.Open(dst, box, i)
	if !ok || !bytes.Equal(opened[:pre], keep) || !bytes.Equal(opened[pre:], msg) {
		t.Fatalf("len %d off %d: Open gives ok=%v and different bytes", len(msg), off, ok)
	}

	// Tampering: one random bit in the tag, one in the ciphertext.
	for _, j := range []int{mrand.IntN(Overhead), Overhead + mrand.IntN(len(box)-Overhead+1)} {
		if j >= len(box) {
			continue
		}
		bad := bytes.Clone(box)
		bad[j] ^= 1 << mrand.IntN(8)
		if m, ok := s.Open(nil, bad, i); ok || m != nil {
			t.Fatalf("len %d: Open accepted a box with byte %d changed", len(msg), j)
		}
		if _, ok := secretbox.Open(nil, bad, nonce, key); ok {
			t.Fatal("secretbox accepted it too: the test is wrong")
		}
	}
}

func randKeyNonce() (key [32]byte, nonce [24]byte) {
	rand.Read(key[:])
	rand.Read(nonce[:])
	return
}

// addNonce is the reference for the nonce arithmetic: n + i modulo 2^192,
// n read as a big-endian number.
func addNonce(n [24]byte, i uint64) (r [24]byte) {
	v := new(big.Int).SetBytes(n[:])
	v.Add(v, new(big.Int).SetUint64(i))
	v.Mod(v, new(big.Int).Lsh(big.NewInt(1), 192))
	v.FillBytes(r[:])
	return r
}

// TestPathSelection: with the CPU features turned off, as CI runs these
// tests, the portable path is the one the other tests compare.
func TestPathSelection(t *testing.T) {
	t.Logf("vector path: %v", useAsm)
	g := os.Getenv("GODEBUG")
	if useAsm && (strings.Contains(g, "cpu.avx2=off") || strings.Contains(g, "cpu.bmi2=off")) {
		t.Fatalf("GODEBUG=%s, yet the vector path is on", g)
	}
}

func TestMatchesSecretbox(t *testing.T) {
	var lengths []int
	for n := 0; n <= 1200; n++ {
		lengths = append(lengths, n)
	}
	// Around every group boundary of the vector code up to 64 KiB, and
	// box-stream's sizes.
	for g := 512; g <= 65536; g += 512 {
		for d := -33; d <= 33; d += 11 {
			if n := g + d; n <= 65535 {
				lengths = append(lengths, n)
			}
		}
	}
	lengths = append(lengths, 18, 4096, 4096+18, 65535)
	if testing.Short() {
		lengths = lengths[:300]
	}
	for i, n := range lengths {
		key, nonce := randKeyNonce()
		var s Sequence
		s.Init(&key, &nonce)
		off := uint64(i % 3)
		msg := make([]byte, n)
		rand.Read(msg)
		check(t, &s, off, &key, new(addNonce(nonce, off)), msg, i%3*7, i%33)
	}
}

func TestRandomLengths(t *testing.T) {
	count := 300
	if testing.Short() {
		count = 20
	}
	for range count {
		key, nonce := randKeyNonce()
		var s Sequence
		s.Init(&key, &nonce)
		msg := make([]byte, mrand.IntN(65536))
		rand.Read(msg)
		check(t, &s, 0, &key, &nonce, msg, mrand.IntN(40), mrand.IntN(64))
	}
}

// TestSequenceCarry steps Sequences across the carry out of the nonce's
// last 8 bytes, where the prefix and so the subkey change, and across the
// wrap of the whole nonce, comparing every box with secretbox under a nonce
// computed with big-number arithmetic: by Advance one step at a time, by
// offsets whose nonce is past the carry while the current one is not, and
// by jumps.
func TestSequenceCarry(t *testing.T) {
	starts := []string{
		"0123456789abcdef0011223344556677fffffffffffffffc", // carry into the prefix's last byte
		"0123456789abcdef00112233445566fffffffffffffffffd", // the carry ripples through the prefix
		"fffffffffffffffffffffffffffffffffffffffffffffffe", // the whole nonce wraps to zero
		"000000000000000000000000000000000000000000000000",
	}
	msg := make([]byte, 700)
	for _, h := range starts {
		var start [24]byte
		hex.Decode(start[:], []byte(h))
		key, _ := randKeyNonce()
		var s Sequence
		s.Init(&key, &start)
		for step := range uint64(8) {
			want := addNonce(start, step)
			if got := s.Nonce(0); got != want {
				t.Fatalf("start %s, %d steps: nonce %x, want %x", h, step, got, want)
			}
			for off := range uint64(4) {
				rand.Read(msg)
				check(t, &s, off, &key, new(addNonce(want, off)), msg[:int(step*off)*37%len(msg)], 0, int(off))
			}
			s.Advance(1)
		}
		// Jumps: past the carry in one step, and twice half the range.
		cur := addNonce(start, 8)
		for _, j := range []uint64{1 << 40, 1 << 63, 1 << 63, 3} {
			s.Advance(j)
			cur = addNonce(cur, j)
			if got := s.Nonce(0); got != cur {
				t.Fatalf("start %s, jump %d: nonce %x, want %x", h, j, got, cur)
			}
			rand.Read(msg)
			check(t, &s, 0, &key, &cur, msg, 0, 0)
			check(t, &s, 1, &key, new(addNonce(cur, 1)), msg[:100], 0, 0)
		}
	}
}

// TestPackageFuncs checks the key-per-call forms.
func TestPackageFuncs(t *testing.T) {
	key, nonce := randKeyNonce()
	msg := []byte("the package-level forms")
	box := Seal(nil, msg, &nonce, &key)
	if !bytes.Equal(box, secretbox.Seal(nil, msg, &nonce, &key)) {
		t.Fatal("Seal differs from secretbox.Seal")
	}
	if m, ok := Open(nil, box, &nonce, &key); !ok || !bytes.Equal(m, msg) {
		t.Fatal("Open failed")
	}
	for n := range Overhead {
		if m, ok := Open(nil, box[:n], &nonce, &key); ok || m != nil {
			t.Fatalf("Open accepted a %d-byte box", n)
		}
	}
}

// TestZeroAllocs: sealing and opening into buffers with room allocate
// nothing (box-stream's Read and Write promise 0 allocations).
func TestZeroAllocs(t *testing.T) {
	key, nonce := randKeyNonce()
	nonce[16] = 0xff // offset 1 is past the carry out of the last 8 bytes
	for i := 17; i < 24; i++ {
		nonce[i] = 0xff
	}
	var s Sequence
	s.Init(&key, &nonce)
	msg := make([]byte, 4096)
	box := make([]byte, 0, len(msg)+Overhead)
	out := make([]byte, 0, len(msg))
	allocs := testing.AllocsPerRun(100, func() {
		for i := range uint64(2) {
			box = s.Seal(box[:0], msg, i)
			var ok bool
			if out, ok = s.Open(out[:0], box, i); !ok {
				t.Fatal("open failed")
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per seal+open", allocs)
	}
}

func FuzzSealOpen(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 24), []byte{}, uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 24), make([]byte, 4096), uint8(5))
	f.Add(make([]byte, 32), make([]byte, 24), make([]byte, 481), uint8(31))
	f.Fuzz(func(t *testing.T, k, n, msg []byte, off uint8) {
		if len(k) != 32 || len(n) != 24 || len(msg) > 65535 {
			t.Skip()
		}
		key, nonce := [32]byte(k), [24]byte(n)
		var s Sequence
		s.Init(&key, &nonce)
		i := uint64(off % 3)
		check(t, &s, i, &key, new(addNonce(nonce, i)), msg, int(off%17), int(off%64))
	})
}

func BenchmarkSealOpen4K(b *testing.B) {
	key, nonce := randKeyNonce()
	msg := make([]byte, 4096)
	box := make([]byte, 0, 4096+Overhead)
	out := make([]byte, 0, 4096)
	b.Run("xsalsa", func(b *testing.B) {
		var s Sequence
		s.Init(&key, &nonce)
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			box = s.Seal(box[:0], msg, 0)
			out, _ = s.Open(out[:0], box, 0)
		}
	})
	b.Run("secretbox", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			box = secretbox.Seal(box[:0], msg, &nonce, &key)
			out, _ = secretbox.Open(out[:0], box, &nonce, &key)
		}
	})
}
