package shs_test

import (
	"testing"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// TestSessionID: both ends of a conn have the same session ID, another
// conn between the same keys has another, and it is zero before the
// handshake.
func TestSessionID(t *testing.T) {
	var ids [2][32]byte
	for i := range ids {
		c1, c2 := tcpPair(t)
		cc, sc := handshakePair(t, c1, c2, clientConfig(), serverConfig())
		defer cc.Close()
		defer sc.Close()
		if cc.SessionID() != sc.SessionID() {
			t.Fatalf("conn %d: client and server session IDs differ", i)
		}
		ids[i] = cc.SessionID()
		if ids[i] == [32]byte{} {
			t.Fatalf("conn %d: zero session ID after the handshake", i)
		}
	}
	if ids[0] == ids[1] {
		t.Error("two conns share a session ID")
	}
	if id := shs.Client(nil, clientConfig()).SessionID(); id != [32]byte{} {
		t.Error("session ID before the handshake is not zero")
	}
}
