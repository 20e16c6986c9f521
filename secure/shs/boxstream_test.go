package shs

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
)

type hexb []byte

func (h *hexb) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type jsStreams struct {
	Streams []struct {
		Name         string `json:"name"`
		Key          hexb   `json:"key"`
		InitialNonce hexb   `json:"initial_nonce"`
		Writes       []hexb `json:"writes"`
		Packets      []struct {
			HeaderBox hexb `json:"header_box"`
			BodyBox   hexb `json:"body_box"`
		} `json:"packets"`
		GoodbyeBox       hexb   `json:"goodbye_box"`
		Wire             hexb   `json:"wire"`
		DecryptedPackets []hexb `json:"decrypted_packets"`
	} `json:"streams"`
	Receiver []struct {
		Name               string `json:"name"`
		Key                hexb   `json:"key"`
		InitialNonce       hexb   `json:"initial_nonce"`
		Wire               hexb   `json:"wire"`
		Expect             string `json:"expect"`
		DeliveredPlaintext hexb   `json:"delivered_plaintext"`
	} `json:"receiver"`
}

type cKAT struct {
	Key          hexb `json:"key"`
	InitialNonce hexb `json:"initial_nonce"`
	Packets      []struct {
		Plaintext hexb `json:"plaintext"`
		HeaderBox hexb `json:"header_box"`
		BodyBox   hexb `json:"body_box"`
	} `json:"packets"`
	GoodbyeBox   hexb `json:"goodbye_box"`
	TamperedBody struct {
		HeaderBox hexb `json:"header_box"`
		BodyBox   hexb `json:"body_box"`
	} `json:"tampered_body"`
	NonceWrapStart hexb `json:"nonce_wrap_start"`
}

func loadVectors(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/boxstream/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func keysFor(key, nonce []byte) shake.Keys {
	var k shake.Keys
	copy(k.EncKey[:], key)
	copy(k.EncNonce[:], nonce)
	copy(k.DecKey[:], key)
	copy(k.DecNonce[:], nonce)
	return k
}

// seal encrypts writes (each one Write) and the goodbye.
func seal(t testing.TB, key, nonce []byte, writes ...[]byte) []byte {
	t.Helper()
	m := newMemConn(nil)
	c := newStreamConn(m, keysFor(key, nonce), DefaultMaxFrameSize)
	for _, w := range writes {
		if n, err := c.Write(w); n != len(w) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return m.out.Bytes()
}

// open decrypts wire with reads of bufSize bytes from an inner conn that
// delivers at most chunk bytes per read.
func open(key, nonce, wire []byte, maxBody, chunk, bufSize int, stall bool) ([]byte, error) {
	m := newMemConn(wire)
	m.chunk, m.stall = chunk, stall
	c := newStreamConn(m, keysFor(key, nonce), maxBody)
	var got []byte
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // a stalled read: the stream must go on
		}
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// readModes are the ways the vectors are read: all at once, byte by byte
// with one-byte reads, and stalling (timeout) before every 7-byte chunk.
var readModes = []struct {
	name           string
	chunk, bufSize int
	stall          bool
}{
	{"bulk", 0, 64 << 10, false},
	{"bytewise", 1, 1, false},
	{"stalling", 7, 100, true},
}

func TestJSVectors(t *testing.T) {
	var v jsStreams
	loadVectors(t, "boxstream-js-generated.json", &v)
	if len(v.Streams) != 9 || len(v.Receiver) != 11 {
		t.Fatalf("vector file has %d streams and %d receiver cases, want 9 and 11", len(v.Streams), len(v.Receiver))
	}
	for _, s := range v.Streams {
		t.Run(s.Name, func(t *testing.T) {
			writes := make([][]byte, len(s.Writes))
			for i, w := range s.Writes {
				writes[i] = w
			}
			if got := seal(t, s.Key, s.InitialNonce, writes...); !bytes.Equal(got, s.Wire) {
				t.Fatalf("encrypted stream differs from the JS one (%d vs %d bytes)", len(got), len(s.Wire))
			}
			var wire []byte
			for _, p := range s.Packets {
				wire = append(append(wire, p.HeaderBox...), p.BodyBox...)
			}
			if !bytes.Equal(append(wire, s.GoodbyeBox...), s.Wire) {
				t.Fatal("vector file inconsistent: packets + goodbye != wire")
			}
			want := bytes.Join(toSlices(s.DecryptedPackets), nil)
			for _, m := range readModes {
				got, err := open(s.Key, s.InitialNonce, s.Wire, DefaultMaxFrameSize, m.chunk, m.bufSize, m.stall)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s: decrypt = %d bytes, %v; want %d bytes, EOF", m.name, len(got), err, len(want))
				}
			}
		})
	}
	wantErr := map[string]error{
		"truncated-no-goodbye": ErrNoGoodbye,
		"truncated-mid-header": ErrNoGoodbye,
		"truncated-mid-body":   ErrNoGoodbye,
		"flipped-header-bit":   ErrBadMAC,
		"flipped-body-bit":     ErrBadMAC,
		"swapped-packets":      ErrBadMAC,
		"goodbye-wrong-nonce":  ErrBadMAC,
	}
	for _, r := range v.Receiver {
		t.Run("receiver/"+r.Name, func(t *testing.T) {
			for _, m := range readModes {
				got, err := open(r.Key, r.InitialNonce, r.Wire, DefaultMaxFrameSize, m.chunk, m.bufSize, m.stall)
				if !bytes.Equal(got, r.DeliveredPlaintext) {
					t.Errorf("%s: delivered %d bytes, JS delivered %d", m.name, len(got), len(r.DeliveredPlaintext))
				}
				switch {
				case r.Expect == "ok" && err != nil:
					t.Errorf("%s: error %v, want a clean end", m.name, err)
				case r.Expect == "error" && !errors.Is(err, wantErr[r.Name]):
					t.Errorf("%s: error %v, want %v", m.name, err, wantErr[r.Name])
				}
			}
			if r.Name == "oversized-body-5000" {
				_, err := open(r.Key, r.InitialNonce, r.Wire, MaxPacketSize, 0, 1<<16, false)
				if !errors.Is(err, ErrFrameTooLarge) {
					t.Errorf("with MaxFrameSize 4096: %v, want ErrFrameTooLarge", err)
				}
			}
		})
	}
}

func toSlices(h []hexb) [][]byte {
	out := make([][]byte, len(h))
	for i, b := range h {
		out[i] = b
	}
	return out
}

func TestCKAT(t *testing.T) {
	var v cKAT
	loadVectors(t, "boxstream-c-kat.json", &v)
	var writes [][]byte
	var want []byte
	for _, p := range v.Packets {
		writes = append(writes, p.Plaintext)
		want = append(append(want, p.HeaderBox...), p.BodyBox...)
	}
	want = append(want, v.GoodbyeBox...)
	if got := seal(t, v.Key, v.InitialNonce, writes...); !bytes.Equal(got, want) {
		t.Fatal("encryption differs from the box-stream-c known answer")
	}
	got, err := open(v.Key, v.InitialNonce, want, DefaultMaxFrameSize, 0, 1024, false)
	if err != nil || !bytes.Equal(got, bytes.Join(writes, nil)) {
		t.Fatalf("decrypt = %x, %v", got, err)
	}
	tampered := append(append([]byte{}, v.TamperedBody.HeaderBox...), v.TamperedBody.BodyBox...)
	m := newMemConn(tampered)
	c := newStreamConn(m, keysFor(v.Key, v.InitialNonce), DefaultMaxFrameSize)
	if _, err := c.Read(make([]byte, 100)); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("tampered body: %v, want ErrBadMAC", err)
	}
	if !c.in.haveHdr {
		t.Fatal("tampered body: the header should have opened")
	}
}

// refDecode is an independent, straightforward box-stream decoder used as
// the oracle: it returns the delivered plaintext and the error class.
func refDecode(key, nonce, wire []byte, maxBody int) ([]byte, error) {
	var k [32]byte
	var n [24]byte
	copy(k[:], key)
	copy(n[:], nonce)
	var out []byte
	for {
		if len(wire) < headerSize {
			return out, ErrNoGoodbye
		}
		hdr, ok := secretbox.Open(nil, wire[:headerSize], &n, &k)
		if !ok {
			return out, ErrBadMAC
		}
		wire = wire[headerSize:]
		if bytes.Equal(hdr, make([]byte, 18)) {
			return out, nil
		}
		l := int(hdr[0])<<8 | int(hdr[1])
		if l > maxBody {
			return out, ErrFrameTooLarge
		}
		increment(&n)
		if len(wire) < l {
			return out, ErrNoGoodbye
		}
		body, ok := secretbox.Open(nil, append(append([]byte{}, hdr[2:]...), wire[:l]...), &n, &k)
		if !ok {
			return out, ErrBadMAC
		}
		out = append(out, body...)
		wire = wire[l:]
		increment(&n)
	}
}

func TestNonceWrapKAT(t *testing.T) {
	var v cKAT
	loadVectors(t, "boxstream-c-kat.json", &v)
	// The C test's loop: 10,000 packets of random data from a start nonce
	// near the top, so the counter wraps around.
	rng := rand.New(rand.NewPCG(1, 2))
	var writes [][]byte
	var all []byte
	for range 10000 {
		p := make([]byte, 1+rng.IntN(64))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		writes = append(writes, p)
		all = append(all, p...)
	}
	wire := seal(t, v.Key, v.NonceWrapStart, writes...)
	got, err := refDecode(v.Key, v.NonceWrapStart, wire, DefaultMaxFrameSize)
	if err != nil || !bytes.Equal(got, all) {
		t.Fatalf("reference decoder: %d bytes, %v", len(got), err)
	}
	got, err = open(v.Key, v.NonceWrapStart, wire, DefaultMaxFrameSize, 0, 1<<16, false)
	if err != nil || !bytes.Equal(got, all) {
		t.Fatalf("Conn decoder: %d bytes, %v", len(got), err)
	}
}

// increment adds one to a 24-byte big-endian counter, wrapping all-0xff to
// zero like the JS increment-buffer: the reference for the nonces that
// xsalsa.Sequence steps.
func increment(n *[24]byte) {
	for i := len(n) - 1; i >= 0; i-- {
		n[i]++
		if n[i] != 0 {
			return
		}
	}
}

func TestIncrement(t *testing.T) {
	tests := []struct{ in, want string }{
		{"000000000000000000000000000000000000000000000000", "000000000000000000000000000000000000000000000001"},
		{"0000000000000000000000000000000000000000000000fe", "0000000000000000000000000000000000000000000000ff"},
		{"0000000000000000000000000000000000000000000000ff", "000000000000000000000000000000000000000000000100"},
		{"00ffffffffffffffffffffffffffffffffffffffffffffff", "010000000000000000000000000000000000000000000000"},
		{"ffffffffffffffffffffffffffffffffffffffffffffffff", "000000000000000000000000000000000000000000000000"},
	}
	for _, tt := range tests {
		var n [24]byte
		hex.Decode(n[:], []byte(tt.in))
		increment(&n)
		if got := hex.EncodeToString(n[:]); got != tt.want {
			t.Errorf("increment(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

var (
	testStreamKey   = bytes.Repeat([]byte{0x42}, 32)
	testStreamNonce = bytes.Repeat([]byte{0x24}, 24)
)

// recorded is a stream with packets of several sizes and the goodbye.
func recorded(t testing.TB) (wire, plain []byte) {
	writes := [][]byte{[]byte("a"), bytes.Repeat([]byte("xy"), 50), bytes.Repeat([]byte{0xaa}, 300)}
	return seal(t, testStreamKey, testStreamNonce, writes...), bytes.Join(writes, nil)
}

func TestTamperEveryBit(t *testing.T) {
	wire, plain := recorded(t)
	for i := range len(wire) * 8 {
		w := append([]byte{}, wire...)
		w[i/8] ^= 1 << (i % 8)
		got, err := open(testStreamKey, testStreamNonce, w, DefaultMaxFrameSize, 0, 1<<16, false)
		if !errors.Is(err, ErrBadMAC) {
			t.Fatalf("bit %d flipped: error %v, want ErrBadMAC", i, err)
		}
		if !bytes.HasPrefix(plain, got) {
			t.Fatalf("bit %d flipped: delivered data that was never sent", i)
		}
	}
}

func TestTruncation(t *testing.T) {
	wire, plain := recorded(t)
	for n := range len(wire) {
		got, err := open(testStreamKey, testStreamNonce, wire[:n], DefaultMaxFrameSize, 0, 1<<16, false)
		if !errors.Is(err, ErrNoGoodbye) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d of %d: error %v, want ErrNoGoodbye", n, len(wire), err)
		}
		if !bytes.HasPrefix(plain, got) {
			t.Fatalf("cut at %d: delivered data that was never sent", n)
		}
	}
	// Bytes after the goodbye are ignored, as in JS.
	got, err := open(testStreamKey, testStreamNonce, append(wire, 1, 2, 3), DefaultMaxFrameSize, 0, 1<<16, false)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("trailing bytes: %v", err)
	}
}

// A write deadline that fires inside a packet: the rest of the packet goes
// out first on the next Write, and the stream stays valid.
func TestWriteTimeoutMidPacket(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes: 3 packets
	for _, budget := range []int{0, 1, 33, 34, 35, 4130, 4131, 9000} {
		m := newMemConn(nil)
		m.budget = budget
		c := newStreamConn(m, keysFor(testStreamKey, testStreamNonce), DefaultMaxFrameSize)
		n, err := c.Write(msg)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("budget %d: Write error %v, want a timeout", budget, err)
		}
		if budget == 0 && n != 0 {
			t.Fatalf("budget 0: Write reported %d bytes", n)
		}
		m.budget = -1
		if _, err := c.Write(msg[n:]); err != nil {
			t.Fatalf("budget %d: Write after the timeout: %v", budget, err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := refDecode(testStreamKey, testStreamNonce, m.out.Bytes(), DefaultMaxFrameSize)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("budget %d: stream decodes to %d bytes, %v", budget, len(got), err)
		}
	}
}

func TestWriteErrorSticks(t *testing.T) {
	m := newMemConn(nil)
	boom := errors.New("boom")
	m.writeErr = boom
	c := newStreamConn(m, keysFor(testStreamKey, testStreamNonce), DefaultMaxFrameSize)
	if _, err := c.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("Write: %v", err)
	}
	m.writeErr = nil
	if _, err := c.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("second Write: %v, want the first error again", err)
	}
	if m.out.Len() != 0 {
		t.Fatal("bytes written after a failed write")
	}
}

func TestReadErrorSticks(t *testing.T) {
	wire, _ := recorded(t)
	wire[40] ^= 1
	m := newMemConn(append(wire, wire...))
	c := newStreamConn(m, keysFor(testStreamKey, testStreamNonce), DefaultMaxFrameSize)
	buf := make([]byte, 1<<16)
	var err error
	for err == nil {
		_, err = c.Read(buf)
	}
	if !errors.Is(err, ErrBadMAC) {
		t.Fatalf("Read: %v", err)
	}
	if _, err2 := c.Read(buf); !errors.Is(err2, ErrBadMAC) {
		t.Fatalf("second Read: %v, want ErrBadMAC again", err2)
	}
}

func FuzzBoxStreamReader(f *testing.F) {
	wire, _ := recorded(f)
	f.Add(wire, uint8(0), uint16(0))
	f.Add(wire, uint8(5), uint16(7))
	f.Add(wire[:50], uint8(1), uint16(1))
	f.Add(seal(f, testStreamKey, testStreamNonce, make([]byte, 5000)), uint8(200), uint16(4096))
	f.Add([]byte{}, uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, wire []byte, chunk uint8, bufSize uint16) {
		for _, maxBody := range []int{DefaultMaxFrameSize, 100} {
			want, wantErr := refDecode(testStreamKey, testStreamNonce, wire, maxBody)
			got, err := open(testStreamKey, testStreamNonce, wire, maxBody, int(chunk), 1+int(bufSize), chunk%3 == 1)
			if !bytes.Equal(got, want) {
				t.Fatalf("maxBody %d: delivered %d bytes, reference %d", maxBody, len(got), len(want))
			}
			if (wantErr == nil) != (err == nil) || wantErr != nil && !errors.Is(err, wantErr) {
				t.Fatalf("maxBody %d: error %v, reference %v", maxBody, err, wantErr)
			}
		}
	})
}

// rawPacket seals one packet of any length by hand (the writer never sends
// more than MaxPacketSize) and advances n.
func rawPacket(key []byte, n *[24]byte, body []byte) []byte {
	var k [32]byte
	copy(k[:], key)
	hn := *n
	increment(n)
	bb := secretbox.Seal(nil, body, n, &k)
	increment(n)
	hdr := append([]byte{byte(len(body) >> 8), byte(len(body))}, bb[:macSize]...)
	return append(secretbox.Seal(nil, hdr, &hn, &k), bb[macSize:]...)
}

func TestMaxBodyBoundary(t *testing.T) {
	for _, tt := range []struct{ max, size int }{{4096, 4096}, {4096, 4097}, {100, 100}, {100, 101}, {DefaultMaxFrameSize, 65535}} {
		var n [24]byte
		copy(n[:], testStreamNonce)
		body := bytes.Repeat([]byte{3}, tt.size)
		wire := rawPacket(testStreamKey, &n, body)
		var k [32]byte
		copy(k[:], testStreamKey)
		wire = append(wire, secretbox.Seal(nil, make([]byte, 18), &n, &k)...)
		got, err := open(testStreamKey, testStreamNonce, wire, tt.max, 0, 1<<17, false)
		if tt.size <= tt.max {
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("max %d, body %d: %v", tt.max, tt.size, err)
			}
		} else if !errors.Is(err, ErrFrameTooLarge) || len(got) != 0 {
			t.Errorf("max %d, body %d: %v, want ErrFrameTooLarge", tt.max, tt.size, err)
		}
	}
}

// TestLongBodiesInPieces reads bodies longer than MaxPacketSize (which
// the receive buffer grows for as they arrive) in pieces of every kind,
// with small and large read buffers, stalls included, next to short
// packets before and after.
func TestLongBodiesInPieces(t *testing.T) {
	var n [24]byte
	copy(n[:], testStreamNonce)
	var k [32]byte
	copy(k[:], testStreamKey)
	var wire, want []byte
	for _, size := range []int{10, 4096, 4097, 9000, 33040, 65535, 1, 65535} {
		body := bytes.Repeat([]byte{byte(size)}, size)
		wire = append(wire, rawPacket(testStreamKey, &n, body)...)
		want = append(want, body...)
	}
	wire = append(wire, secretbox.Seal(nil, make([]byte, 18), &n, &k)...)
	for _, chunk := range []int{0, 1, 33, 4130, 5000, 40000} {
		for _, bufSize := range []int{1, 4096, 1 << 17} {
			for _, stall := range []bool{false, true} {
				if chunk == 1 && bufSize == 1 && stall {
					continue // 200,000 stalls: covered by the other modes
				}
				got, err := open(testStreamKey, testStreamNonce, wire, DefaultMaxFrameSize, chunk, bufSize, stall)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("chunk %d, buffer %d, stall %v: %d of %d bytes, %v", chunk, bufSize, stall, len(got), len(want), err)
				}
			}
		}
	}
}

// TestNonceCarry starts streams just before the carry out of the nonce's
// last 8 bytes, where the nonce's 16-byte prefix and so the XSalsa20
// subkey change (and xsalsa.Sequence derives a new one), at each position
// of the carry within a write batch: both the writer and the reader must
// agree with the secretbox-based reference decoder across it.
func TestNonceCarry(t *testing.T) {
	var writes [][]byte
	var all []byte
	for _, n := range []int{32 << 10, 1, 5000, 32 << 10, 100} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		writes = append(writes, p)
		all = append(all, p...)
	}
	for back := 1; back <= 20; back++ {
		nonce, _ := hex.DecodeString("0123456789abcdef00112233445566ff" + "ffffffffffffff00")
		nonce[23] = byte(256 - back)
		wire := seal(t, testStreamKey, nonce, writes...)
		got, err := refDecode(testStreamKey, nonce, wire, DefaultMaxFrameSize)
		if err != nil || !bytes.Equal(got, all) {
			t.Fatalf("carry %d nonces in: reference decoder: %d of %d bytes, %v", back, len(got), len(all), err)
		}
		got, err = open(testStreamKey, nonce, wire, DefaultMaxFrameSize, 0, 1<<16, false)
		if err != nil || !bytes.Equal(got, all) {
			t.Fatalf("carry %d nonces in: Conn decoder: %d of %d bytes, %v", back, len(got), len(all), err)
		}
	}
}
