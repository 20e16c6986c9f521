package serialport

import (
	"io"
	"net"
	"testing"
)

// The benchmarks measure the conn over a pseudo-terminal, which ignores the
// baud rate: they show the cost of the transport's own code and of the
// kernel's tty layer, not a line rate (115200 baud 8N1 carries at most
// 11.5 KB/s).

func benchmarkPTY(b *testing.B, toConn bool) {
	m, _, path := openPTY(b)
	c := dialPath(b, path, 0)
	var w io.Writer = c
	var r io.Reader = &ptyMaster{f: m}
	if toConn {
		w, r = &ptyMaster{f: m}, c
	}
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(buf)))
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, r, int64(b.N)*int64(len(buf)))
		done <- err
	}()
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPTYWrite: serial conn Write, pty master reads.
func BenchmarkPTYWrite(b *testing.B) { benchmarkPTY(b, false) }

// BenchmarkPTYRead: pty master writes, serial conn Read.
func BenchmarkPTYRead(b *testing.B) { benchmarkPTY(b, true) }

// BenchmarkSHSEchoOverSerial: one shs session per iteration over two ptys
// joined by a copier, through the multiserver package: dial, handshake,
// 1 MiB echoed (both ways at once), clean close, listener re-arm.
func BenchmarkSHSEchoOverSerial(b *testing.B) {
	m := newMSLink(b)
	<-m.opened
	b.SetBytes(1 << 20)
	b.ResetTimer()
	for range b.N {
		m.echo(b, 1<<20)
		<-m.opened
	}
}

var _ net.Conn = (*ptyMaster)(nil)
