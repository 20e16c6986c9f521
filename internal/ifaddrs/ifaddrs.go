// Package ifaddrs lets the tests of this module pretend the machine has
// other interface addresses than it has. It holds the one test hook of
// stack.InterfaceAddrs, which is not part of the public API: package
// stack exports no mutable variable.
package ifaddrs

import (
	"net/netip"
	"sync/atomic"
)

// fake, if set, replaces the machine's interface addresses.
var fake atomic.Pointer[func(scope string) []netip.Addr]

// Replace makes stack.InterfaceAddrs(scope) return f(scope) until the
// returned function is called. Only tests call it; tests that call it
// must not run in parallel with tests that look at interfaces.
func Replace(f func(scope string) []netip.Addr) (restore func()) {
	old := fake.Swap(&f)
	return func() { fake.Store(old) }
}

// Fake returns the function set by Replace, or nil.
func Fake() func(scope string) []netip.Addr {
	if p := fake.Load(); p != nil {
		return *p
	}
	return nil
}
