package ws

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

const (
	// MaxMessage is the largest WebSocket message a Conn sends. Larger
	// writes are split. Node's ws drops connections on messages over
	// 100 MiB; 1 MiB keeps every peer well inside its limits.
	MaxMessage = 1 << 20

	// DefaultKeepAlive is the ping interval used when Options.KeepAlive
	// is zero.
	DefaultKeepAlive = 30 * time.Second

	// DefaultCloseTimeout bounds Conn.Close when Options.CloseTimeout is
	// zero.
	DefaultCloseTimeout = time.Second

	readChunk = 32 << 10 // bytes read from the socket per chunk
	// smallChunk is the first read of each message, and of any read
	// after one that a message's end cut short: the WebSocket library
	// fills a read buffer to its end or the frame's before it returns, so
	// a peer that announces a long frame and stops pins the buffer of
	// the read in progress. It is readChunk only once a smallChunk read
	// came back full. It is the largest size class under 8 KiB, so that
	// such a peer pins less than 8 KiB with the conn's own bookkeeping.
	smallChunk = 6912
	readAhead  = 4         // chunks buffered ahead of Read
	writeQueue = 128 << 10 // bytes a Write may queue before it blocks
)

var (
	chunkPool      = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}
	smallChunkPool = sync.Pool{New: func() any { b := make([]byte, smallChunk); return &b }}
)

// getChunk returns a pooled read buffer of readChunk bytes if big, else
// of smallChunk bytes.
func getChunk(big bool) *[]byte {
	if big {
		return chunkPool.Get().(*[]byte)
	}
	return smallChunkPool.Get().(*[]byte)
}

// putChunk gives a buffer from getChunk back to its pool.
func putChunk(b *[]byte) {
	if len(*b) == readChunk {
		chunkPool.Put(b)
		return
	}
	smallChunkPool.Put(b)
}

var queuePool = sync.Pool{New: func() any { b := make([]byte, 0, writeQueue); return &b }}

type chunk struct {
	buf *[]byte
	n   int
}

// Conn is a WebSocket connection used as a byte stream: every Write is sent
// as one or more binary messages of at most MaxMessage bytes, and received
// binary messages are read as one stream (message boundaries carry no
// meaning, as in JavaScript multiserver). A text message from the peer is a
// protocol error: Read fails with ErrTextMessage and the connection is
// closed with status 1003.
//
// Deadlines behave as on a TCP conn: a deadline that passes interrupts a
// pending Read or Write with an error that is a net.Error whose Timeout
// method reports true (errors.Is(err, os.ErrDeadlineExceeded) holds), and
// the connection survives: once the deadline is moved, Read returns the
// data that arrived meanwhile and Write carries on. This differs from
// coder/websocket's own NetConn, which tears the connection down when a
// deadline fires during a Read or Write. It works because no deadline ever
// reaches coder/websocket: two goroutines per connection move the data,
// one reading messages into a small read-ahead buffer (4 × 32 KiB) and one
// sending what Write queued (up to 128 KiB). So, like a TCP send buffer, a
// Write that returns has queued its bytes, not delivered them; an error
// from sending is reported by a later Write, and Close sends what is still
// queued (within the close timeout). A Write cut short by its deadline
// reports exactly the bytes it queued, and those are sent. The reading
// goroutine also answers pings and close frames while the application is
// not reading, until the read-ahead buffer is full.
//
// Close runs the WebSocket close handshake (status 1000) but never waits
// longer than the close timeout (Options.CloseTimeout, by default 1 s) in
// all: after that it drops the TCP connection, so an unresponsive peer
// cannot block it. The peer's normal close (1000 or 1001) reads as io.EOF;
// there is no half-close.
//
// A Conn pings its peer when nothing was received or sent for the keepalive
// interval (Options.KeepAlive), and drops the connection (Read and Write
// fail with ErrKeepAlive) when a ping stays unanswered for another interval
// with nothing received or sent meanwhile. A peer is spared while it may be
// merely slow: while our read-ahead buffer is full, while a send is in
// progress, and while the last data moved was ours (the ping may wait
// behind it until the peer's application reads).
//
// A Conn is safe for concurrent use.
type Conn struct {
	ws       *websocket.Conn
	raw      net.Conn // the TCP conn below the WebSocket (below TLS for wss)
	local    *Addr
	remote   *Addr
	closeDur time.Duration

	closing   chan struct{} // closed when Close starts
	closeOnce sync.Once
	wg        sync.WaitGroup // reader, writer and keepalive goroutines
	killed    atomic.Pointer[error]

	// Read side.
	rmu      sync.Mutex
	chunks   chan chunk // filled by readLoop, closed when it ends
	cur      chunk
	off      int
	rerr     error // why readLoop ended; set before chunks is closed
	rdl      *deadline
	received atomic.Uint64 // chunks received, for keepalive
	sent     atomic.Uint64 // messages sent, for keepalive
	owed     atomic.Bool   // we sent last: the peer may be busy reading
	rblocked atomic.Bool   // readLoop waits for the application

	// Write side.
	wmu    sync.Mutex // serialises Write calls
	qmu    sync.Mutex
	q      *[]byte // bytes queued for writeLoop
	qerr   error   // why writeLoop failed
	qdata  chan struct{}
	qspace chan struct{}
	wdone  chan struct{}
	wbusy  atomic.Bool
	wdl    *deadline
}

type connConfig struct {
	keepAlive    time.Duration
	closeTimeout time.Duration
}

func newConn(wc *websocket.Conn, raw net.Conn, local, remote *Addr, cfg connConfig) *Conn {
	wc.SetReadLimit(-1) // messages are a stream; we read them in chunks
	c := &Conn{
		ws:       wc,
		raw:      raw,
		local:    local,
		remote:   remote,
		closeDur: cfg.closeTimeout,
		closing:  make(chan struct{}),
		chunks:   make(chan chunk, readAhead),
		rdl:      newDeadline(),
		qdata:    make(chan struct{}, 1),
		qspace:   make(chan struct{}, 1),
		wdone:    make(chan struct{}),
		wdl:      newDeadline(),
	}
	if c.closeDur <= 0 {
		c.closeDur = DefaultCloseTimeout
	}
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	if cfg.keepAlive > 0 {
		c.wg.Add(1)
		go c.keepAlive(cfg.keepAlive)
	}
	return c
}

// LocalAddr returns the local end of the connection, an *Addr.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the remote end of the connection, an *Addr: the TCP
// peer, or on a listener configured with TrustForwardedFor the client named
// by the X-Forwarded-For header.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// NetConn returns the conn the WebSocket runs on: the TCP conn, the TLS
// conn for wss, or what a listener's gate or a dialer's DialContext gave.
// Reading from or writing to it corrupts the WebSocket stream; it is there
// to find what lies under the Conn, as crypto/tls's Conn.NetConn is.
func (c *Conn) NetConn() net.Conn { return c.raw }

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.local.Network(), Source: c.local, Addr: c.remote, Err: err}
}

// kill drops the connection at once, recording why for Read and Write.
func (c *Conn) kill(reason error) {
	c.killed.CompareAndSwap(nil, &reason)
	c.dropTCP()
	_ = c.ws.CloseNow()
}

func (c *Conn) dropTCP() {
	raw := c.raw
	if tc, ok := raw.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	_ = raw.Close()
}

// Close sends what Write queued, runs the WebSocket close handshake
// (status 1000) and closes the connection. It returns within the close
// timeout: if the peer does not take the data or answer the close frame
// in time, the TCP connection is dropped. Pending Reads and Writes return
// an error wrapping net.ErrClosed. Only a second Close reports an error.
func (c *Conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.close()
	})
	if !first {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

func (c *Conn) close() {
	close(c.closing)
	timer := time.NewTimer(c.closeDur)
	defer timer.Stop()
	forced := false
	select {
	case <-c.wdone:
	case <-timer.C:
		forced = true
		c.kill(net.ErrClosed)
	}
	if !forced {
		hs := make(chan struct{})
		go func() {
			defer close(hs)
			_ = c.ws.Close(websocket.StatusNormalClosure, "")
		}()
		select {
		case <-hs:
		case <-timer.C:
			c.kill(net.ErrClosed)
			<-hs
		}
	}
	c.dropTCP()
	c.wg.Wait()
	// Pending Reads have returned (c.closing is closed); give the buffers
	// back.
	c.rmu.Lock()
	if c.cur.buf != nil {
		putChunk(c.cur.buf)
		c.cur = chunk{}
	}
	for ch := range c.chunks {
		putChunk(ch.buf)
	}
	c.rmu.Unlock()
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the deadline for pending and future Reads. A Read
// interrupted by it returns a timeout error; the connection survives.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the deadline for pending and future Writes. A
// Write interrupted by it returns how much it queued and a timeout error;
// the connection survives, and the queued bytes are still sent.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	return nil
}
