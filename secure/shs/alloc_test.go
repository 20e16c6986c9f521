package shs_test

import (
	"io"
	"testing"
)

// TestSteadyStateAllocs checks that an established conn allocates nothing
// per Write and Read: frames are sealed and opened in pooled buffers.
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	c1, c2 := tcpPair(t)
	cc, sc := handshakePair(t, c1, c2, clientConfig(), serverConfig())
	defer cc.Close()
	defer sc.Close()
	for _, size := range []int{1, 100, 4096, 10000, 32 << 10} {
		msg := make([]byte, size)
		buf := make([]byte, size)
		roundTrip := func() {
			// The kernel's socket buffer takes 32 KiB without a reader.
			if _, err := cc.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(sc, buf); err != nil {
				t.Fatal(err)
			}
		}
		roundTrip() // warm the pools
		if avg := testing.AllocsPerRun(200, roundTrip); avg != 0 {
			t.Errorf("%d-byte Write+Read: %.2f allocations, want 0", size, avg)
		}
	}
}
