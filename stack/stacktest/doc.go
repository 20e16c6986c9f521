// Package stacktest is for multiserver plugins what nettest is for
// net.Conn: conformance suites that a Transport or a Transform runs in its
// own tests, and an in-memory, addressable Transport for tests of code
// that uses multiserver without sockets.
//
//	func TestConformance(t *testing.T) {
//		stacktest.TestTransport(t, mytransport.New(), "mine:127.0.0.1:0")
//		stacktest.TestTransform(t, mytransform.New())
//	}
//
// The suites check what the root package relies on: data arrives whole and
// in order in both directions, every conn passes nettest.TestConn, Close
// on a listener unblocks Accept with net.ErrClosed, a cancelled context
// ends a dial or a handshake, sections parse to an endpoint whose canonical
// section parses to itself, and Dial or Client refuses an endpoint that
// another plugin's Parse made. TestDialer runs the dialing half for a
// transport that cannot listen (onion) or whose listener cannot serve the
// suite's conns (serial). Every built-in plugin passes them.
package stacktest
