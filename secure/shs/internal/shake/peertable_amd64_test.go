//go:build !purego

package shake

import (
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"
)

func tableCount() (tables, seen int) {
	peerTables.Lock()
	defer peerTables.Unlock()
	return len(peerTables.tbl), len(peerTables.seen)
}

func hasTable(pub ed25519.PublicKey) bool {
	peerTables.Lock()
	defer peerTables.Unlock()
	return peerTables.tbl[[32]byte(pub)] != nil
}

func newPeerKey(t testing.TB) (ed25519.PublicKey, [32]byte) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := RemoteLongTerm(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pub, x
}

// mulPeer gives the ladder's result before and after a key's table
// exists, for random ephemeral scalars and the extreme ones, and a key
// gets a table on exactly its peerTableAfter-th notePeer.
func TestMulPeer(t *testing.T) {
	for range 4 {
		pub, x := newPeerKey(t)
		for use := 1; use <= peerTableAfter+6; use++ {
			var eph [32]byte
			switch use {
			case peerTableAfter + 1:
				// all zero: the clamped scalar is 2^254
			case peerTableAfter + 2:
				for i := range eph {
					eph[i] = 0xff
				}
			default:
				rand.Read(eph[:])
			}
			var want, got [32]byte
			if err := x25519(&want, &eph, &x); err != nil {
				t.Fatal(err)
			}
			if err := mulPeer(&got, &eph, pub, &x); err != nil {
				t.Fatalf("use %d: %v", use, err)
			}
			if got != want {
				t.Fatalf("use %d, eph %x: mulPeer %x, ladder %x", use, eph, got, want)
			}
			if has := hasTable(pub); has != (use > peerTableAfter) {
				t.Fatalf("before notePeer %d: table present = %v", use, has)
			}
			notePeer(pub)
		}
	}
}

// mulPeer alone never builds a table: only completed handshakes count.
func TestMulPeerDoesNotCount(t *testing.T) {
	pub, x := newPeerKey(t)
	var eph, out [32]byte
	rand.Read(eph[:])
	for range 2 * peerTableAfter {
		if err := mulPeer(&out, &eph, pub, &x); err != nil {
			t.Fatal(err)
		}
	}
	if hasTable(pub) {
		t.Error("mulPeer built a table")
	}
}

// However many keys come back, at most peerTablesMax tables and
// peerSeenMax counters are kept, and renoting a key that has a table
// evicts nothing.
func TestPeerTablesBounded(t *testing.T) {
	var last ed25519.PublicKey
	for i := range peerTablesMax + 8 {
		pub, _ := newPeerKey(t)
		for range peerTableAfter {
			notePeer(pub)
		}
		if !hasTable(pub) {
			t.Fatal("a key noted peerTableAfter times has no table")
		}
		if n, _ := tableCount(); n > peerTablesMax {
			t.Fatalf("%d tables, limit %d", n, peerTablesMax)
		}
		if i == peerTablesMax+7 {
			last = pub
		}
	}
	before, _ := tableCount()
	for range 10 {
		notePeer(last)
	}
	if after, _ := tableCount(); after != before || !hasTable(last) {
		t.Errorf("renoting a key with a table: %d tables before, %d after", before, after)
	}
	for range peerSeenMax + 10 {
		pub, _ := newPeerKey(t)
		notePeer(pub)
		if _, n := tableCount(); n > peerSeenMax {
			t.Fatalf("%d counters, limit %d", n, peerSeenMax)
		}
	}
}

// Handshakes on many goroutines, sharing a hot key and churning tables
// past the limit, all get the ladder's result (run with -race).
func TestPeerTablesConcurrent(t *testing.T) {
	const nkeys = peerTablesMax + 16
	pubs := make([]ed25519.PublicKey, nkeys)
	xs := make([][32]byte, nkeys)
	for i := range pubs {
		pubs[i], xs[i] = newPeerKey(t)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for it := range 60 {
				i := (g*7 + it) % nkeys
				if it%3 == 0 {
					i = 0 // a hot key shared by all goroutines
				}
				var eph, got, want [32]byte
				rand.Read(eph[:])
				if err := mulPeer(&got, &eph, pubs[i], &xs[i]); err != nil {
					t.Error(err)
					return
				}
				x25519Ladder(&want, &eph, &xs[i])
				if got != want {
					t.Errorf("key %d: mulPeer %x, ladder %x", i, got, want)
					return
				}
				notePeer(pubs[i])
			}
		})
	}
	wg.Wait()
	// Which keys hold tables at the end depends on the random evictions;
	// that some do, and no more than the limit, does not.
	if n, _ := tableCount(); n == 0 || n > peerTablesMax {
		t.Errorf("%d tables, want 1 to %d", n, peerTablesMax)
	}
}

func BenchmarkMulPeer(b *testing.B) {
	pub, x := newPeerKey(b)
	var eph, out [32]byte
	rand.Read(eph[:])
	for range peerTableAfter {
		notePeer(pub)
	}
	for b.Loop() {
		if err := mulPeer(&out, &eph, pub, &x); err != nil {
			b.Fatal(err)
		}
	}
}
