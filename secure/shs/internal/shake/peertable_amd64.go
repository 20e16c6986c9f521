//go:build !purego

package shake

import (
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Peers come back: an SSB client dials the same pubs and friends again
// and again, and a server sees the same clients. Two of a side's three
// Diffie-Hellman operations multiply our fresh ephemeral scalar by the
// peer's long-term key (the client's aB, the server's Ab), so for a peer
// seen repeatedly a precomputed table of that key's multiples turns a
// ladder (46 µs here) into a fixed-base multiplication (15 µs). A table
// costs 115 µs to build and 40 KiB to keep, so a key gets one only after
// peerTableAfter completed (and, on a server, authorized) handshakes, and
// at most peerTablesMax tables exist (1.3 MiB).
const (
	peerTableAfter = 3
	peerTablesMax  = 32
	peerSeenMax    = 1024
)

var peerTables = struct {
	sync.Mutex
	seen map[[32]byte]int // uses of keys that have no table yet
	tbl  map[[32]byte]*curve.EdwardsBasepointTable
}{
	seen: make(map[[32]byte]int),
	tbl:  make(map[[32]byte]*curve.EdwardsBasepointTable),
}

// mulPeer sets dst to X25519(eph, x), where x is the X25519 form of the
// peer's Ed25519 key pub, which RemoteLongTerm validated (a canonical
// point of the prime-order subgroup: that is what lets an Edwards table of
// pub stand in for the Montgomery ladder on x). It only looks tables up;
// notePeer decides which keys get one.
func mulPeer(dst, eph *[32]byte, pub []byte, x *[32]byte) error {
	if DisableCache || len(pub) != 32 {
		return x25519(dst, eph, x)
	}
	peerTables.Lock()
	t := peerTables.tbl[[32]byte(pub)]
	peerTables.Unlock()
	if t == nil {
		return x25519(dst, eph, x)
	}
	// The clamped scalar is below 2^255, which the table multiplication
	// accepts unreduced, as voi's own X25519 base-point code does.
	e := *eph
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64
	var s scalar.Scalar
	if _, err := s.SetBits(e[:]); err != nil {
		return x25519(dst, eph, x) // cannot happen: e is 32 bytes
	}
	var p curve.EdwardsPoint
	var u curve.MontgomeryPoint
	u.SetEdwards(p.MulBasepoint(t, &s))
	*dst = u
	var acc byte
	for _, b := range dst {
		acc |= b
	}
	if acc == 0 {
		return errX25519LowOrder // cannot happen for a validated key
	}
	return nil
}

// building marks, in peerTables.seen, a key whose table is being built, so
// that handshakes finishing meanwhile do not build it again.
const building = -1

// notePeer counts a completed handshake with the peer whose validated key
// is pub, and builds the key's table on the handshake that reaches
// peerTableAfter. It is called only once the peer is authenticated and,
// on a server, authorized, so that keys we refuse never get a table.
func notePeer(pub []byte) {
	if DisableCache || len(pub) != 32 {
		return
	}
	k := [32]byte(pub)
	peerTables.Lock()
	if peerTables.tbl[k] != nil {
		peerTables.Unlock()
		return
	}
	n := peerTables.seen[k]
	if n == building {
		peerTables.Unlock()
		return
	}
	if n+1 < peerTableAfter {
		if len(peerTables.seen) >= peerSeenMax {
			clear(peerTables.seen)
		}
		peerTables.seen[k] = n + 1
		peerTables.Unlock()
		return
	}
	peerTables.seen[k] = building
	peerTables.Unlock()

	var t *curve.EdwardsBasepointTable
	var cy curve.CompressedEdwardsY
	var p curve.EdwardsPoint
	if _, err := cy.SetBytes(k[:]); err == nil {
		if _, err := p.SetCompressedY(&cy); err == nil {
			t = curve.NewEdwardsBasepointTable(&p)
		}
	}

	peerTables.Lock()
	defer peerTables.Unlock()
	delete(peerTables.seen, k)
	if t == nil {
		return // cannot happen for a validated key
	}
	if len(peerTables.tbl) >= peerTablesMax {
		for old := range peerTables.tbl { // evict an arbitrary one
			delete(peerTables.tbl, old)
			break
		}
	}
	peerTables.tbl[k] = t
}
