package shs

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps Conn in the 576-byte allocation size class. Every
// established conn, idle or not, holds one Conn on the heap, so a field
// that pushes it over costs 64 bytes per conn (class 640) at 10,000 idle
// conns; before the XSalsa20 subkeys were cached in it, Conn fitted in 576,
// and the cache must not make idle conns heavier (issue 21). Pack small
// fields together (see inHalf) rather than raise the limit.
func TestConnSize(t *testing.T) {
	const limit = 576
	if size := unsafe.Sizeof(Conn{}); unsafe.Sizeof(uintptr(0)) == 8 && size > limit {
		t.Errorf("Conn is %d bytes, want at most %d (its size class)", size, limit)
	} else {
		t.Logf("Conn is %d bytes", size)
	}
}
