package shs

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// countingConn counts the Reads on the conn it wraps.
type countingConn struct {
	net.Conn
	reads atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

// TestStreamReadsPerBatch streams 2 MiB in 32 KiB Writes through
// net.Pipe, which hands each Write to the reader in as many Reads as the
// reader's buffer takes, and counts the reads on the receiving side.
// A reader that climbed its buffer steps again for every batch (8 KiB,
// 16 KiB, then the batch buffer, after a 34-byte read and a one-packet
// one) took five reads per batch (321 in all at 6dea605); one that takes
// the batch buffer again when a drained stream goes on takes three.
func TestStreamReadsPerBatch(t *testing.T) {
	const writes = 64
	a, b := net.Pipe()
	k := keysFor(bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 24))
	w := newStreamConn(a, k, DefaultMaxFrameSize)
	cc := &countingConn{Conn: b}
	r := newStreamConn(cc, k, DefaultMaxFrameSize)
	// Close the pipe, not the conns: over net.Pipe a goodbye nobody
	// reads would wait for Close's timeout.
	defer a.Close()
	defer b.Close()
	msg := bytes.Repeat([]byte{1}, 32<<10)
	errc := make(chan error, 1)
	go func() {
		for range writes {
			if _, err := w.Write(msg); err != nil {
				errc <- err
				return
			}
		}
		errc <- w.CloseWrite()
	}()
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 32<<10))
	if err != nil || n != writes*int64(len(msg)) {
		t.Fatalf("read %d bytes, %v; want %d", n, err, writes*len(msg))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// The first batch climbs the steps (five reads), the goodbye takes
	// one more.
	reads, want := cc.reads.Load(), int64(5+3*(writes-1)+1)
	t.Logf("%d reads for %d batches (want at most %d)", reads, writes, want)
	if reads > want {
		t.Errorf("%d reads for %d batches, want at most %d", reads, writes, want)
	}
}
