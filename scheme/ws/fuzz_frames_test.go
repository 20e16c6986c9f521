package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzBound bounds every wait of FuzzServerFrames: a Read that has neither
// data nor an error by then, or a Close still running, is a hang.
const fuzzBound = 10 * time.Second

// wireFrame encodes one client frame. lenBytes forces the length encoding
// (0: the minimal one, 2: 16 bits, 8: 64 bits); length, if not negative,
// is written instead of len(payload), for frames that lie about their
// size.
type wireFrame struct {
	fin      bool
	rsv      byte // the three RSV bits, already shifted (0x70 mask)
	op       byte
	masked   bool
	key      [4]byte
	lenBytes int
	length   int64
	payload  []byte
}

func (f wireFrame) bytes() []byte {
	var b bytes.Buffer
	h := f.rsv&0x70 | f.op&0x0f
	if f.fin {
		h |= 0x80
	}
	b.WriteByte(h)
	n := uint64(len(f.payload))
	if f.length >= 0 {
		n = uint64(f.length)
	}
	var m byte
	if f.masked {
		m = 0x80
	}
	switch lb := f.lenBytes; {
	case lb == 8 || lb == 0 && n > 0xffff:
		b.WriteByte(m | 127)
		binary.Write(&b, binary.BigEndian, n)
	case lb == 2 || lb == 0 && n > 125:
		b.WriteByte(m | 126)
		binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(m | byte(n))
	}
	p := bytes.Clone(f.payload)
	if f.masked {
		b.Write(f.key[:])
		for i := range p {
			p[i] ^= f.key[i%4]
		}
	}
	b.Write(p)
	return b.Bytes()
}

// bin, cont, ctl: valid masked frames.
func bin(fin bool, p string) wireFrame {
	return wireFrame{fin: fin, op: opBinary, masked: true, key: [4]byte{0x37, 0xfa, 0x21, 0x3d}, length: -1, payload: []byte(p)}
}

func cont(fin bool, p string) wireFrame {
	f := bin(fin, p)
	f.op = 0
	return f
}

func ctl(op byte, p []byte) wireFrame {
	return wireFrame{fin: true, op: op, masked: true, key: [4]byte{1, 2, 3, 4}, length: -1, payload: p}
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

func frames(fs ...wireFrame) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.bytes()...)
	}
	return b
}

// parsedFrame is a client frame as the fuzz model reads it.
type parsedFrame struct {
	fin, masked bool
	rsv, op     byte
	minimal     bool   // the length uses the shortest encoding
	length      uint64 // as the header says
	payload     []byte // unmasked; shorter than length if the input ends
}

func (f parsedFrame) complete() bool { return uint64(len(f.payload)) == f.length }

// parseWire splits b into frames; the last one may be cut short. A header
// cut short ends the list.
func parseWire(b []byte) []parsedFrame {
	var out []parsedFrame
	for len(b) >= 2 {
		f := parsedFrame{fin: b[0]&0x80 != 0, rsv: b[0] & 0x70, op: b[0] & 0x0f, masked: b[1]&0x80 != 0}
		n := uint64(b[1] & 0x7f)
		b = b[2:]
		f.minimal = true
		switch n {
		case 126:
			if len(b) < 2 {
				return out
			}
			n = uint64(binary.BigEndian.Uint16(b))
			f.minimal = n > 125
			b = b[2:]
		case 127:
			if len(b) < 8 {
				return out
			}
			n = binary.BigEndian.Uint64(b)
			f.minimal = n > 0xffff && n < 1<<63
			b = b[8:]
		}
		f.length = n
		var key [4]byte
		if f.masked {
			if len(b) < 4 {
				return out
			}
			copy(key[:], b)
			b = b[4:]
		}
		k := uint64(len(b))
		if n < k {
			k = n
		}
		f.payload = bytes.Clone(b[:k])
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
		b = b[k:]
		out = append(out, f)
	}
	return out
}

// wsModel is what the server must make of a client's bytes.
type wsModel struct {
	// valid is the data of the leading frames that are valid beyond doubt
	// (masked, no RSV bits, minimal lengths, complete, binary messages
	// with pings and pongs between them): Read must return all of it.
	valid []byte
	// upTo is the most Read may return: the payloads of every binary
	// message frame, however malformed, up to the first frame that cannot
	// carry binary data (a close, a text message, an unknown opcode, a
	// continuation out of place). Anything else read is corrupt data.
	upTo []byte
	// wantEOF: the valid frames end with a close frame whose status reads
	// as a normal end (none, 1000 or 1001).
	wantEOF bool
	// allValid: every byte sent is part of a valid frame and no close
	// frame was sent, so the stream just ends (TCP FIN): Read must return
	// exactly valid and then an error other than io.EOF.
	allValid bool
}

func modelFrames(fs []parsedFrame) wsModel {
	var m wsModel
	strict, inMsg := true, false
	for i, f := range fs {
		clean := f.masked && f.rsv == 0 && f.minimal && f.complete()
		data := f.op == opBinary && !inMsg || f.op == 0 && inMsg
		switch {
		case data:
			m.upTo = append(m.upTo, f.payload...)
			if strict && clean {
				m.valid = append(m.valid, f.payload...)
			} else {
				strict = false
			}
			inMsg = !f.fin
			if !f.complete() {
				return m
			}
		case f.op == opPing || f.op == opPong:
			if !(clean && f.fin && f.length <= 125) {
				strict = false
			}
			if !f.complete() {
				return m
			}
		default:
			if strict && f.op == opClose && clean && f.fin && normalClose(f.payload) {
				m.wantEOF = true
			}
			return m
		}
		if strict && i == len(fs)-1 {
			m.allValid = true
		}
	}
	return m
}

// normalClose reports whether a close frame's payload is valid and reads
// as io.EOF: no status, or 1000/1001 with a short UTF-8 reason.
func normalClose(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	if len(p) < 2 || len(p) > 125 || !utf8.Valid(p[2:]) {
		return false
	}
	code := binary.BigEndian.Uint16(p)
	return code == 1000 || code == 1001
}

// FuzzServerFrames sends fuzzed bytes as WebSocket frames from a raw client
// to an accepted Conn, after a real upgrade, then ends the TCP stream. The
// Conn's Read must return exactly the data of the valid binary frames, never
// data that was not sent, and then an error, within fuzzBound; Close must
// return within its close timeout; no goroutine may stay behind (goleak in
// TestMain).
func FuzzServerFrames(f *testing.F) {
	big := string(bytes.Repeat([]byte("0123456789abcdef"), 4200)) // 67200 bytes: 64-bit length
	lie := func(fr wireFrame, lenBytes int, length int64) wireFrame {
		fr.lenBytes, fr.length = lenBytes, length
		return fr
	}
	unmasked := bin(true, "no mask")
	unmasked.masked = false
	rsv1 := bin(true, "compressed?")
	rsv1.rsv = 0x40
	pingNoFin := ctl(opPing, []byte("p"))
	pingNoFin.fin = false
	seeds := [][]byte{
		nil,
		frames(bin(true, "hello")),
		frames(bin(true, ""), bin(true, "a"), bin(true, "bc")),
		frames(bin(true, string(bytes.Repeat([]byte{0xa5}, 300)))), // 16-bit length
		frames(bin(true, big)),
		frames(ctl(opText, []byte("text is refused"))),
		frames(bin(true, "before text"), ctl(opText, []byte("text"))),
		frames(ctl(opPing, []byte("ping")), bin(true, "after ping"), ctl(opPong, nil)),
		frames(bin(true, "last words"), ctl(opClose, closePayload(1000, ""))),
		frames(bin(true, "going"), ctl(opClose, closePayload(1001, "away"))),
		frames(bin(true, "bye"), ctl(opClose, nil)),
		frames(bin(true, "x"), ctl(opClose, closePayload(1002, "protocol error"))),
		frames(ctl(opClose, []byte{0x03})),                               // 1-byte close payload
		frames(ctl(opClose, closePayload(1000, "\xff\xfe"))),             // reason not UTF-8
		frames(ctl(opClose, closePayload(1000, "")), bin(true, "after")), // data after close
		frames(bin(false, "frag"), ctl(opPing, []byte("mid")), cont(false, "men"), cont(true, "ted")),
		frames(cont(true, "continuation without a message")),
		frames(bin(false, "unfinished"), bin(true, "new message")),
		frames(bin(false, "cut"), ctl(opText, []byte("text mid-message"))),
		frames(unmasked),
		frames(rsv1),
		frames(ctl(3, []byte("reserved data opcode")), ctl(0xb, nil)),
		frames(ctl(opPing, bytes.Repeat([]byte{'p'}, 126))), // control frame too long
		frames(pingNoFin),
		// Frames cut short by the end of the stream: coder/websocket
		// (v1.8.15) returns their bytes still masked; Read must not.
		frames(lie(bin(true, "short"), 0, 1<<62)),  // payload never comes
		frames(lie(bin(true, "huge"), 8, -1))[:10], // header only
		frames(lie(bin(true, "msb"), 8, -1<<63|5)), // 64-bit length with the top bit set
		frames(lie(bin(true, "five"), 2, -1)),      // 16-bit length for 4 bytes
		frames(lie(bin(true, "5"), 8, -1)),         // 64-bit length for 1 byte
		frames(lie(bin(true, "truncated payload"), 0, -1))[:9],
		[]byte("\x82"), // one header byte
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	}
	for _, s := range seeds {
		f.Add(s)
	}

	tr := New(&Options{KeepAlive: -1, CloseTimeout: 2 * time.Second})
	ln := listenT(f, tr, "ws://127.0.0.1:0")
	buf := make([]byte, 8<<10)

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<17 {
			in = in[:1<<17]
		}
		m := modelFrames(parseWire(in))

		p := dialRaw(t, ln.Addr(), "/")
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		// The client sends everything, ends its side, and drains what the
		// server answers (pongs, close frames) until the server is done.
		sent := make(chan error, 1)
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			io.Copy(io.Discard, p.br)
		}()
		go func() {
			_, err := p.Write(in)
			if err == nil {
				err = p.Conn.(*net.TCPConn).CloseWrite()
			}
			sent <- err
		}()

		c.SetReadDeadline(time.Now().Add(fuzzBound))
		var got []byte
		var rerr error
		for rerr == nil {
			var n int
			n, rerr = c.Read(buf)
			got = append(got, buf[:n]...)
			if len(got) > len(m.upTo) {
				break
			}
		}
		// The server may have stopped reading: unblock the writer. No
		// TIME_WAIT (linger 0), so that long runs do not use up the
		// loopback ports.
		p.Conn.(*net.TCPConn).SetLinger(0)
		p.Close()
		<-sent
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if d := time.Since(start); d > fuzzBound {
			t.Errorf("Close took %v; the close timeout is 2s", d)
		}
		<-drained

		if errors.Is(rerr, os.ErrDeadlineExceeded) {
			t.Fatalf("Read hung: %v after %d bytes (want %d valid, at most %d)", rerr, len(got), len(m.valid), len(m.upTo))
		}
		if !bytes.HasPrefix(m.upTo, got) {
			t.Fatalf("Read returned %d bytes that are not the data sent (%d bytes of binary payload): %q", len(got), len(m.upTo), trunc(got))
		}
		if !bytes.HasPrefix(got, m.valid) {
			t.Fatalf("Read returned %d bytes then %v; want at least the %d bytes of valid frames", len(got), rerr, len(m.valid))
		}
		if m.wantEOF && rerr != io.EOF {
			t.Fatalf("after a normal close frame Read returned %v; want io.EOF", rerr)
		}
		if m.allValid && (!bytes.Equal(got, m.valid) || rerr == io.EOF || rerr == nil) {
			t.Fatalf("stream of valid frames cut by TCP FIN: read %d of %d bytes, then %v; want all, then an error other than EOF", len(got), len(m.valid), rerr)
		}
		if rerr != nil && rerr != io.EOF {
			if _, ok := rerr.(*net.OpError); !ok {
				t.Errorf("Read error %T %v; want a *net.OpError", rerr, rerr)
			}
		}
	})
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
