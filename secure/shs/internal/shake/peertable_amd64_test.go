//go:build !purego

package shake

import (
	"crypto/ed25519"
	"crypto/rand"
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

// mulPeer gives the ladder's result before, at and after the use that
// builds a key's table, for random ephemeral scalars (and the extreme
// ones), and only keys used peerTableAfter times get a table.
func TestMulPeer(t *testing.T) {
	for range 4 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := RemoteLongTerm(pub)
		if err != nil {
			t.Fatal(err)
		}
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
			if has := hasTable(pub); has != (use >= peerTableAfter) {
				t.Fatalf("use %d: table present = %v", use, has)
			}
		}
	}
}

// However many keys come back, at most peerTablesMax tables and
// peerSeenMax counters are kept.
func TestPeerTablesBounded(t *testing.T) {
	var eph, out [32]byte
	rand.Read(eph[:])
	for range peerTablesMax + 8 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := RemoteLongTerm(pub)
		if err != nil {
			t.Fatal(err)
		}
		for range peerTableAfter {
			if err := mulPeer(&out, &eph, pub, &x); err != nil {
				t.Fatal(err)
			}
		}
		if !hasTable(pub) {
			t.Fatal("a key used peerTableAfter times has no table")
		}
		if n, _ := tableCount(); n > peerTablesMax {
			t.Fatalf("%d tables, limit %d", n, peerTablesMax)
		}
	}
	for range peerSeenMax + 10 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := RemoteLongTerm(pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := mulPeer(&out, &eph, pub, &x); err != nil {
			t.Fatal(err)
		}
		if _, n := tableCount(); n > peerSeenMax {
			t.Fatalf("%d counters, limit %d", n, peerSeenMax)
		}
	}
}

func BenchmarkMulPeer(b *testing.B) {
	pub, _, _ := ed25519.GenerateKey(nil)
	x, _ := RemoteLongTerm(pub)
	var eph, out [32]byte
	rand.Read(eph[:])
	for range peerTableAfter {
		mulPeer(&out, &eph, pub, &x)
	}
	for b.Loop() {
		if err := mulPeer(&out, &eph, pub, &x); err != nil {
			b.Fatal(err)
		}
	}
}
