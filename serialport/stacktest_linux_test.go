package serialport

import (
	"net"
	"testing"

	"github.com/go-multiserver/multiserver/stack/stacktest"
)

// TestStacktest runs the dialing side of the plugin suite: each conn is
// a Dial of a fresh pseudo-terminal's slave, whose far end is the pty
// master (ptyMaster, a test adapter; the slave held by openPTY is closed
// at once, so that closing the dialed conn hangs up the master, which
// then reads EOF).
//
// TestTransport does not apply: its conns come one after another from
// one Listener and end with an end of file, which a serial line does not
// carry (see the package documentation: a UART reports no end of file,
// and a Listener's first Accept returns the device it opened in Listen
// at once rather than waiting for a peer). The Listener's own contract
// (one conn at a time, re-arming, Close unblocking Accept with
// net.ErrClosed) is tested in listener_linux_test.go.
//
// Closing the pty master hangs up the slave, which discards the input the
// dialed conn has not read yet, as a dropped serial or RFCOMM link loses
// data in flight: hence CloseLosesInput.
func TestStacktest(t *testing.T) {
	stacktest.TestDialer(t, New(nil), func(t *testing.T) stacktest.Peer {
		m, s, path := openPTY(t)
		s.Close()
		return stacktest.Peer{
			Dial:            FormatSection(path, 0).String(),
			Accept:          func() (net.Conn, error) { return &ptyMaster{f: m}, nil },
			CloseLosesInput: true,
		}
	})
}
