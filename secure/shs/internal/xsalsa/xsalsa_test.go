package xsalsa

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// check seals msg with k (through Key, with its cached subkey) and with
// secretbox, compares the boxes, opens the box with both, and checks that
// a box with any one bit flipped in the tag or the ciphertext does not open.
// pre bytes already in out and the offsets of msg and out in their buffers
// exercise appending and misaligned buffers.
func check(t *testing.T, k *Key, key *[32]byte, nonce *[24]byte, msg []byte, pre, off int) {
	t.Helper()
	want := secretbox.Seal(nil, msg, nonce, key)

	buf := make([]byte, off+pre+len(msg)+Overhead)
	prefix := buf[off : off+pre]
	rand.Read(prefix)
	keep := bytes.Clone(prefix)
	got := k.Seal(prefix, msg, nonce)
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
	opened, ok := k.Open(dst, box, nonce)
	if !ok || !bytes.Equal(opened[:pre], keep) || !bytes.Equal(opened[pre:], msg) {
		t.Fatalf("len %d off %d: Open gives ok=%v and different bytes", len(msg), off, ok)
	}

	// Tampering: one random bit in the tag, one in the ciphertext.
	for _, i := range []int{mrand.IntN(Overhead), Overhead + mrand.IntN(len(box)-Overhead+1)} {
		if i >= len(box) {
			continue
		}
		bad := bytes.Clone(box)
		bad[i] ^= 1 << mrand.IntN(8)
		if m, ok := k.Open(nil, bad, nonce); ok || m != nil {
			t.Fatalf("len %d: Open accepted a box with byte %d changed", len(msg), i)
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
		var k Key
		k.Set(&key)
		msg := make([]byte, n)
		rand.Read(msg)
		check(t, &k, &key, &nonce, msg, i%3*7, i%33)
	}
}

func TestRandomLengths(t *testing.T) {
	count := 300
	if testing.Short() {
		count = 20
	}
	for range count {
		key, nonce := randKeyNonce()
		var k Key
		k.Set(&key)
		msg := make([]byte, mrand.IntN(65536))
		rand.Read(msg)
		check(t, &k, &key, &nonce, msg, mrand.IntN(40), mrand.IntN(64))
	}
}

// TestSubkeyCache runs one Key through nonces that keep and that change
// the 16-byte prefix, and through a change of key.
func TestSubkeyCache(t *testing.T) {
	key, nonce := randKeyNonce()
	var k Key
	k.Set(&key)
	msg := make([]byte, 700)
	for i := range 40 {
		switch i % 4 {
		case 0:
			nonce[23]++ // same prefix
		case 1:
			nonce[15]++ // new prefix
		case 2:
			nonce[0] ^= 0x80
		case 3:
			rand.Read(key[:])
			k.Set(&key)
		}
		rand.Read(msg)
		check(t, &k, &key, &nonce, msg, 0, i)
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
	var k Key
	k.Set(&key)
	msg := make([]byte, 4096)
	box := make([]byte, 0, len(msg)+Overhead)
	out := make([]byte, 0, len(msg))
	allocs := testing.AllocsPerRun(100, func() {
		box = k.Seal(box[:0], msg, &nonce)
		var ok bool
		if out, ok = k.Open(out[:0], box, &nonce); !ok {
			t.Fatal("open failed")
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
		var kk Key
		kk.Set(&key)
		check(t, &kk, &key, &nonce, msg, int(off%17), int(off%64))
	})
}

func BenchmarkSealOpen4K(b *testing.B) {
	key, nonce := randKeyNonce()
	msg := make([]byte, 4096)
	box := make([]byte, 0, 4096+Overhead)
	out := make([]byte, 0, 4096)
	b.Run("xsalsa", func(b *testing.B) {
		var k Key
		k.Set(&key)
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			box = k.Seal(box[:0], msg, &nonce)
			out, _ = k.Open(out[:0], box, &nonce)
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
