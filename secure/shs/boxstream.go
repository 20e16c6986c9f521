package shs

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
	"github.com/go-multiserver/multiserver/secure/shs/internal/xsalsa"
)

// Box-stream framing (spec.md): every packet is a 34-byte header box
// (secretbox of uint16 length || body MAC, nonce N) followed by the body
// ciphertext without its MAC (nonce N+1); the stream ends with a header box
// of 18 zero bytes.
const (
	headerSize = 2 + xsalsa.Overhead + xsalsa.Overhead // 34
	macSize    = xsalsa.Overhead                       // 16
	packetSize = headerSize + MaxPacketSize            // 4130

	// readBufSize is 32 KiB, the largest of the runtime's small size
	// classes: a reader keeping up takes about a batch per system call,
	// and the buffer costs what it holds (eight packets and macSize,
	// 33,056 bytes, would take five 8 KiB pages, 40,960 bytes). The
	// receive buffer keeps macSize bytes free in front of the data so a
	// body MAC can be put back in front of its ciphertext for
	// secretbox.Open.
	readBufSize = 32 << 10

	// smallBufSize holds one full packet. A conn takes it first; each
	// read that fills its buffer about doubles it (6.75 KiB, 16 KiB, then
	// readBufSize), and it goes back as soon as a read finds nothing more
	// waiting, so a peer that stops in the middle of a packet pins at
	// most about twice what its last read brought, whatever length its
	// header announced.
	smallBufSize = macSize + packetSize
	// step1BufSize is the largest size class under 8 KiB, so that a peer
	// that stops after a packet and a header pins less than 8 KiB with
	// the conn's own bookkeeping (TestStalledPeerHeap).
	step1BufSize = 6912
	step2BufSize = 16 << 10

	// writeBatch packets are sealed into one buffer and go out with one
	// Write on the inner conn: 32 KiB of payload per system call.
	writeBatch   = 8
	writeBufSize = writeBatch * packetSize
)

// Buffers are pooled and held by a conn only while they contain data (a
// partial frame, undelivered plaintext, or the unsent tail of a packet), so
// an idle conn holds none.
var (
	readPool  = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	smallPool = sync.Pool{New: func() any { b := make([]byte, smallBufSize); return &b }}
	step1Pool = sync.Pool{New: func() any { b := make([]byte, step1BufSize); return &b }}
	step2Pool = sync.Pool{New: func() any { b := make([]byte, step2BufSize); return &b }}
	writePool = sync.Pool{New: func() any { b := make([]byte, writeBufSize); return &b }}
	plainPool = sync.Pool{New: func() any { b := make([]byte, MaxPacketSize); return &b }}
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// inHalf is the receiving direction. All fields are guarded by mu. The
// small fields come last, packed, to keep Conn within its size class (see
// TestConnSize).
type inHalf struct {
	mu      sync.Mutex
	seq     xsalsa.Sequence // key; nonce of the next header, the body's while haveHdr
	maxBody int

	buf        *[]byte    // received, not yet decrypted bytes: buf[start:end]
	pool       *sync.Pool // where buf came from, or nil
	start, end int
	lastRead   int // bytes the last read brought

	plain        *[]byte // decrypted bytes not yet delivered: plain[pStart:pEnd]
	pStart, pEnd int

	bodyLen int
	err     error // sticky: io.EOF after the goodbye, or a fatal error

	first [headerSize]byte // receives the first bytes while no buffer is held
	hdr   [18]byte         // last opened header

	filled      bool // the last read filled the room it was given
	plainPooled bool // plain came from plainPool
	haveHdr     bool // hdr belongs to a body still to be received
	streaming   bool // the batch buffer went back at a packet boundary
}

// release returns buffers that hold nothing. Between a header and its
// body it keeps a buffer instead, since the body is on its way and a body
// read into the 34-byte array would cost a system call per packet: the
// one it has if its last read filled it (the peer is streaming, and
// climbing back from a small one would cost a read per step), a small
// one otherwise. It notes whether the buffer it gives back was the batch
// buffer, for fill.
func (in *inHalf) release() {
	if in.buf != nil && in.start == in.end {
		switch {
		case !in.haveHdr || in.err != nil:
			in.streaming = in.pool == &readPool
			in.setBuf(nil, nil)
		case in.pool != &smallPool && !in.filled:
			in.setBuf(smallPool.Get().(*[]byte), &smallPool)
			in.start, in.end = macSize, macSize
		}
	}
	if in.plain != nil && in.pStart == in.pEnd {
		if in.plainPooled {
			plainPool.Put(in.plain)
		}
		in.plain, in.plainPooled = nil, false
	}
}

// setBuf makes b (from pool p, or nil) the receive buffer, giving the
// current one back to its pool.
func (in *inHalf) setBuf(b *[]byte, p *sync.Pool) {
	if in.pool != nil {
		in.pool.Put(in.buf)
	}
	in.buf, in.pool = b, p
}

// releaseAll drops every buffer (the conn is closed or broken).
func (in *inHalf) releaseAll() {
	in.start, in.end, in.pStart, in.pEnd = 0, 0, 0, 0
	in.release()
}

// read implements Conn.Read with mu held.
func (in *inHalf) read(c *Conn, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	for {
		if in.pEnd > in.pStart {
			k := copy(p[n:], (*in.plain)[in.pStart:in.pEnd])
			in.pStart += k
			n += k
			if n == len(p) {
				in.release()
				return n, nil
			}
		}
		if in.err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, in.err
		}
		k, ok, err := in.next(p[n:])
		n += k
		if err != nil {
			in.err = err
			in.releaseAll()
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if ok {
			if n == len(p) {
				in.release()
				return n, nil
			}
			continue
		}
		if n > 0 {
			// Deliver what we have rather than block for more.
			in.release()
			return n, nil
		}
		if err := in.fill(c); err != nil {
			in.release()
			return 0, err
		}
	}
}

// next decodes the next packet from the buffered bytes. It delivers the
// plaintext into dst if it fits (returning its length) and otherwise keeps
// it as pending plaintext. ok is false if more bytes are needed. Nonces
// advance only when a box opens.
func (in *inHalf) next(dst []byte) (k int, ok bool, err error) {
	if in.buf == nil {
		return 0, false, nil
	}
	b := *in.buf
	if !in.haveHdr {
		if in.end-in.start < headerSize {
			return 0, false, nil
		}
		if _, ok := in.seq.Open(in.hdr[:0], b[in.start:in.start+headerSize], 0); !ok {
			return 0, false, fmt.Errorf("%w: box-stream header", ErrBadMAC)
		}
		in.start += headerSize
		if in.hdr == [18]byte{} {
			return 0, false, io.EOF // goodbye; later bytes are ignored
		}
		l := int(in.hdr[0])<<8 | int(in.hdr[1])
		if l > in.maxBody {
			return 0, false, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, l, in.maxBody)
		}
		in.haveHdr, in.bodyLen = true, l
		in.seq.Advance(1)
	}
	if in.end-in.start < in.bodyLen {
		return 0, false, nil
	}
	// The body MAC travels in the header: put it back in front of the
	// ciphertext, over the consumed header bytes (or the reserved room).
	box := b[in.start-macSize : in.start+in.bodyLen]
	copy(box, in.hdr[2:])
	if len(dst) >= in.bodyLen {
		if _, ok := in.seq.Open(dst[:0], box, 0); !ok {
			return 0, false, fmt.Errorf("%w: box-stream body", ErrBadMAC)
		}
		k = in.bodyLen
	} else {
		if in.bodyLen <= MaxPacketSize {
			in.plain, in.plainPooled = plainPool.Get().(*[]byte), true
		} else {
			pb := make([]byte, in.bodyLen)
			in.plain, in.plainPooled = &pb, false
		}
		if _, ok := in.seq.Open((*in.plain)[:0], box, 0); !ok {
			return 0, false, fmt.Errorf("%w: box-stream body", ErrBadMAC)
		}
		in.pStart, in.pEnd = 0, in.bodyLen
	}
	in.start += in.bodyLen
	in.haveHdr = false
	in.seq.Advance(1)
	return k, true, nil
}

// fill reads once from the inner conn into the receive buffer, making room
// for the next header or body first. Timeouts keep every buffered byte and
// are not sticky; end of stream is ErrNoGoodbye.
//
// The buffer grows with what the peer has sent and shrinks while it waits
// (see smallBufSize): a read that filled its room is followed by one into
// a buffer twice as big, up to a batch; one that brought less than a packet and did not
// fill its room moves what is left of a packet back into a small buffer;
// a body longer than MaxPacketSize (accepted for JS compatibility) gets a
// buffer at most twice what has arrived of it. So a conn waiting for its
// peer holds nothing after a packet boundary, the small buffer after a
// read of less than a packet, and a bigger one only right after a read
// that filled half of it. A conn whose batch buffer went back at a packet
// boundary takes it again when the 34-byte read that waited comes back
// full: the peer streams on, and it could pin the batch buffer anyway by
// stopping in the middle of a packet.
func (in *inHalf) fill(c *Conn) error {
	need := headerSize
	if in.haveHdr {
		need = in.bodyLen
	}
	if in.buf == nil {
		// Nothing buffered: wait for the peer with the small inline
		// array, so that a conn whose Read is pending holds no pooled
		// buffer, then move what came into a small one.
		m, err := c.conn.Read(in.first[:])
		if m > 0 {
			if m == len(in.first) && in.streaming {
				// A stream that drained the batch buffer, read by read,
				// and goes on: take the batch buffer again rather than
				// climb the steps, a system call each, for every batch.
				// The peer pins no more than a stall in the middle of its
				// last batch would have.
				in.setBuf(readPool.Get().(*[]byte), &readPool)
				in.filled = true
			} else {
				in.setBuf(smallPool.Get().(*[]byte), &smallPool)
				in.filled = false
			}
			in.streaming = false
			in.start, in.end = macSize, macSize+copy((*in.buf)[macSize:], in.first[:m])
			in.lastRead = m
			return nil
		}
		if err == nil {
			return nil
		}
		return in.readErr(c, err)
	}
	avail := in.end - in.start
	size := len(*in.buf)
	switch {
	case macSize+avail == size:
		// Full, so a body longer than the buffer is arriving: double
		// the buffer, up to the body.
		size = min(2*size, macSize+need)
	case in.filled:
		// The peer is sending more than the buffer holds: about double
		// it, up to a batch. Steps (not a batch at once) keep what a peer
		// that stops now pins within about twice what it last sent.
		switch {
		case size < step1BufSize:
			size = step1BufSize
		case size < step2BufSize:
			size = step2BufSize
		default:
			size = max(size, readBufSize)
		}
	case in.lastRead < smallBufSize && macSize+max(avail, need) <= smallBufSize:
		// The peer has slowed to less than a packet per read: wait
		// for it with a small buffer.
		size = smallBufSize
	}
	if size != len(*in.buf) {
		var nb *[]byte
		var p *sync.Pool
		switch size {
		case smallBufSize:
			nb, p = smallPool.Get().(*[]byte), &smallPool
		case readBufSize:
			nb, p = readPool.Get().(*[]byte), &readPool
		case step1BufSize:
			nb, p = step1Pool.Get().(*[]byte), &step1Pool
		case step2BufSize:
			nb, p = step2Pool.Get().(*[]byte), &step2Pool
		default:
			b := make([]byte, size)
			nb = &b
		}
		copy((*nb)[macSize:], (*in.buf)[in.start:in.end])
		in.setBuf(nb, p)
		in.start, in.end = macSize, macSize+avail
	} else if in.start != macSize {
		copy((*in.buf)[macSize:], (*in.buf)[in.start:in.end])
		in.start, in.end = macSize, macSize+avail
	}
	b := *in.buf
	m, err := c.conn.Read(b[in.end:])
	in.filled, in.lastRead = in.end+m == len(b), m
	in.end += m
	if m > 0 || err == nil {
		// An error with data recurs on the next read.
		return nil
	}
	return in.readErr(c, err)
}

func (in *inHalf) readErr(c *Conn, err error) error {
	switch {
	case c.closed.Load():
		in.err = net.ErrClosed
	case isTimeout(err):
		return err
	case errors.Is(err, io.EOF):
		switch {
		case in.end > in.start || in.haveHdr:
			in.err = fmt.Errorf("%w (inside a packet)", ErrNoGoodbye)
		case c.sentGoodbye.Load():
			in.err = errPeerClosed
		default:
			in.err = ErrNoGoodbye
		}
	default:
		in.err = err
	}
	in.releaseAll()
	return in.err
}

// outHalf is the sending direction. All fields are guarded by mu.
type outHalf struct {
	mu  sync.Mutex
	seq xsalsa.Sequence // key; nonce of the next header

	// tail is the unsent rest of a packet whose first bytes went out
	// before a write deadline fired: buf[tStart:tEnd]. It is sent before
	// anything else.
	buf          *[]byte
	tStart, tEnd int

	err     error    // sticky
	hdr     [18]byte // header being sealed; a local would escape with -tags purego
	goodbye bool     // goodbye sent or attempted
}

func (out *outHalf) releaseBuf() {
	if out.buf != nil && out.tStart == out.tEnd {
		writePool.Put(out.buf)
		out.buf = nil
	}
}

// writeErr classifies an error of the inner conn's Write: timeouts are
// returned as they are (the stream stays usable), anything else sticks.
func (out *outHalf) writeErr(c *Conn, err error) error {
	if c.closed.Load() {
		err = net.ErrClosed
	}
	if isTimeout(err) {
		return err
	}
	out.err = err
	out.tStart, out.tEnd = 0, 0
	out.releaseBuf()
	return err
}

// flushTail sends a pending packet tail.
func (out *outHalf) flushTail(c *Conn) error {
	if out.tStart == out.tEnd {
		return nil
	}
	nw, err := c.conn.Write((*out.buf)[out.tStart:out.tEnd])
	out.tStart += nw
	if err != nil {
		return out.writeErr(c, err)
	}
	out.tStart, out.tEnd = 0, 0
	return nil
}

// write implements Conn.Write with mu held.
func (out *outHalf) write(c *Conn, p []byte) (int, error) {
	if out.err != nil {
		return 0, out.err
	}
	if out.goodbye {
		return 0, ErrWriteClosed
	}
	if err := out.flushTail(c); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		out.releaseBuf()
		return 0, nil
	}
	if out.buf == nil {
		out.buf = writePool.Get().(*[]byte)
	}
	b := *out.buf
	n := 0
	var lens [writeBatch]int
	for n < len(p) {
		// Seal up to writeBatch packets into b, each header with the
		// nonce wn steps after out.seq's and its body with the next.
		wn := uint64(0)
		off, np, sealed := 0, 0, 0
		for np < writeBatch && n+sealed < len(p) {
			q := p[n+sealed:]
			if len(q) > MaxPacketSize {
				q = q[:MaxPacketSize]
			}
			// Body: MAC || ciphertext lands at off+18, so the ciphertext
			// starts right after the 34-byte header box.
			out.seq.Seal(b[off+18:off+18], q, wn+1)
			out.hdr[0], out.hdr[1] = byte(len(q)>>8), byte(len(q))
			copy(out.hdr[2:], b[off+18:off+headerSize])
			out.seq.Seal(b[off:off], out.hdr[:], wn)
			wn += 2
			off += headerSize + len(q)
			lens[np] = len(q)
			np++
			sealed += len(q)
		}
		nw, err := c.conn.Write(b[:off])
		if err == nil {
			out.seq.Advance(wn)
			n += sealed
			continue
		}
		// Commit the packets whose first byte went out: a partly sent
		// packet's rest becomes the tail, sent before anything else.
		pos := 0
		permanent := c.closed.Load() || !isTimeout(err)
		for i := 0; i < np && pos < nw; i++ {
			end := pos + headerSize + lens[i]
			if permanent && nw < end {
				break // cut short for good: the peer never gets it
			}
			out.seq.Advance(2)
			n += lens[i]
			if nw < end {
				out.tStart, out.tEnd = nw, end
			}
			pos = end
		}
		err = out.writeErr(c, err)
		out.releaseBuf()
		return n, err
	}
	out.releaseBuf()
	return n, nil
}

// writeGoodbye sends the end-of-stream header. Any failure sticks: the
// stream cannot be continued after a partial goodbye.
func (out *outHalf) writeGoodbye(c *Conn) error {
	if out.err != nil {
		return out.err
	}
	if out.goodbye {
		return nil
	}
	if out.tStart != out.tEnd {
		if _, err := c.conn.Write((*out.buf)[out.tStart:out.tEnd]); err != nil {
			out.err = err
			return err
		}
		out.tStart, out.tEnd = 0, 0
	}
	out.goodbye = true
	out.releaseBuf()
	var zero [18]byte
	var box [headerSize]byte
	out.seq.Seal(box[:0], zero[:], 0)
	out.seq.Advance(2)
	if _, err := c.conn.Write(box[:]); err != nil {
		out.err = err
		return err
	}
	c.sentGoodbye.Store(true)
	return nil
}

// errPeerClosed is the end of a stream closed by the peer at a packet
// boundary after this side's goodbye. It is both ErrPeerClosed and
// ErrNoGoodbye, with one prefix in its message.
var errPeerClosed error = endError{}

type endError struct{}

func (endError) Error() string   { return ErrPeerClosed.Error() + " (at a packet boundary)" }
func (endError) Unwrap() []error { return []error{ErrPeerClosed, ErrNoGoodbye} }

// newStreamConn returns a Conn over conn whose handshake counts as done,
// keyed with k: for the vectors and the fuzz targets.
func newStreamConn(conn net.Conn, k shake.Keys, maxBody int) *Conn {
	c := &Conn{conn: conn}
	c.in.seq.Init(&k.DecKey, &k.DecNonce)
	c.in.maxBody = maxBody
	c.out.seq.Init(&k.EncKey, &k.EncNonce)
	c.hsDone.Store(true)
	return c
}
