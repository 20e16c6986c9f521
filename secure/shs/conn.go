package shs

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
	"github.com/go-multiserver/multiserver/stack"
)

// closeTimeout bounds the goodbye write in Close.
const closeTimeout = time.Second

// A Conn is a secret-handshake connection: the handshake runs on first use
// (or by Handshake) and the data then travels as box-stream. A Conn is safe
// for concurrent use: one Read and one Write may proceed at the same time,
// and Close may be called at any time.
//
// Deadlines are those of the underlying conn. A read deadline that fires
// in the middle of a packet keeps what was received and the stream stays
// usable; so does a write deadline (a packet already started is finished
// by the next Write or Close before anything else is sent). Other errors
// are permanent.
type Conn struct {
	conn net.Conn
	cfg  *Config

	hsMu        sync.Mutex // serialises handshakes
	hsDone      atomic.Bool
	closed      atomic.Bool
	sentGoodbye atomic.Bool // the goodbye went out whole
	isClient    bool
	fin         bool  // CloseWrite of the underlying conn called; guarded by out.mu
	hsErr       error // guarded by hsMu
	local       ed25519.PublicKey
	remote      ed25519.PublicKey
	auth        any
	session     [32]byte

	in  inHalf
	out outHalf
}

var (
	_ net.Conn        = (*Conn)(nil)
	_ stack.Peer      = (*Conn)(nil)
	_ stack.Sectioner = (*Conn)(nil)
	_ stack.Unwrapper = (*Conn)(nil)
)

// Client returns a new client-side Conn over conn. cfg.ServerKey must be
// set. The handshake has not run yet; see Conn.Handshake. cfg must not be
// modified afterwards.
func Client(conn net.Conn, cfg *Config) *Conn {
	return &Conn{conn: conn, cfg: cfg, isClient: true}
}

// Server returns a new server-side Conn over conn. If cfg.Identity is nil,
// cfg generates one identity on first use and keeps it, so share one
// Config among the conns of a listener. cfg must not be modified
// afterwards.
func Server(conn net.Conn, cfg *Config) *Conn {
	return &Conn{conn: conn, cfg: cfg}
}

// Handshake runs the handshake if it has not run yet, bounded by
// Config.HandshakeTimeout. Most uses need not call it: the first Read or
// Write does.
func (c *Conn) Handshake() error {
	return c.HandshakeContext(context.Background())
}

// HandshakeContext runs the handshake if it has not run yet. If ctx is done
// or Config.HandshakeTimeout passes before it completes, the handshake is
// aborted and the underlying conn closed. ctx bounds the handshake only.
// A failed handshake closes the underlying conn and its error is returned
// by every later call.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	if c.hsDone.Load() {
		return nil
	}
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if c.hsDone.Load() {
		return nil
	}
	if c.hsErr != nil {
		return c.hsErr
	}
	if c.closed.Load() {
		return net.ErrClosed
	}
	err := c.handshake(ctx)
	if err != nil {
		c.hsErr = err
		c.conn.Close()
		return err
	}
	c.hsDone.Store(true)
	return nil
}

func (c *Conn) handshake(ctx context.Context) (ret error) {
	cfg := c.cfg
	if cfg == nil {
		return fmt.Errorf("%w: nil Config", ErrInvalidConfig)
	}
	appKey, err := cfg.appKey()
	if err != nil {
		return err
	}
	maxBody, err := cfg.maxBody()
	if err != nil {
		return err
	}
	var lt *shake.LongTerm
	if c.isClient {
		if cfg.ServerKey == nil {
			return fmt.Errorf("%w: client needs ServerKey", ErrInvalidConfig)
		}
		lt, err = cfg.clientLongTerm()
	} else {
		lt, err = cfg.longTerm()
	}
	if err != nil {
		return err
	}
	var remote ed25519.PublicKey
	if c.isClient {
		remote = cfg.ServerKey
	}
	st, err := shake.NewState(appKey, lt, remote)
	if err != nil {
		return err
	}

	parent := ctx
	t := cfg.handshakeTimeout()
	if t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	if ctx.Done() != nil {
		// Closing the conn is what unblocks the handshake's reads and
		// writes; wait for it so no goroutine outlives the call.
		done := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			c.conn.Close()
			close(done)
		})
		defer func() {
			if !stop() {
				<-done
				if parent.Err() == nil {
					ret = fmt.Errorf("shs: handshake timed out after %v: %w", t, ctx.Err())
				} else {
					ret = fmt.Errorf("shs: handshake aborted: %w", ctx.Err())
				}
			}
		}()
	}

	var keys shake.Keys
	if c.isClient {
		keys, err = shake.Client(c.conn, st)
	} else {
		var auth any
		authorize := func(ctx context.Context, pub ed25519.PublicKey) error {
			if cfg.Authorize == nil {
				return nil
			}
			a, err := cfg.Authorize(ctx, pub)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrUnauthorized, err)
			}
			auth = a
			return nil
		}
		keys, err = shake.Server(ctx, c.conn, st, authorize)
		c.auth = auth
	}
	if err != nil {
		if c.closed.Load() {
			return fmt.Errorf("shs: handshake: %w", net.ErrClosed)
		}
		return err
	}
	c.local = lt.Public
	c.remote = st.RemoteKey()
	// The hello MACs start the box-stream nonces: the client's is its
	// DecNonce and the server's EncNonce.
	clientMAC, serverMAC := keys.DecNonce, keys.EncNonce
	if !c.isClient {
		clientMAC, serverMAC = keys.EncNonce, keys.DecNonce
	}
	var macs [48]byte // an append to clientMAC[:] would allocate
	copy(macs[:24], clientMAC[:])
	copy(macs[24:], serverMAC[:])
	c.session = sha256.Sum256(macs[:])
	c.in.seq.Init(&keys.DecKey, &keys.DecNonce)
	c.in.maxBody = maxBody
	c.out.seq.Init(&keys.EncKey, &keys.EncNonce)
	return nil
}

// Read reads decrypted data, running the handshake first if needed. It
// returns io.EOF once the peer has sent its goodbye (Close or CloseWrite),
// and an error wrapping ErrNoGoodbye (and io.ErrUnexpectedEOF) if the
// stream ends without one.
func (c *Conn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	return c.in.read(c, p)
}

// Write encrypts and sends p, running the handshake first if needed. It is
// sent as packets of at most MaxPacketSize bytes, up to eight of them per
// write on the underlying conn. Errors other than timeouts are permanent.
func (c *Conn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return c.out.write(c, p)
}

// CloseWrite sends the goodbye that ends this direction of the stream
// (running the handshake first if needed); the peer's Read returns io.EOF.
// If the underlying conn can half-close (it has a CloseWrite method, as
// TCP and unix conns do), its write side is then shut down too, so a peer
// that waits for the transport's end (ssb-server keeps a conn until it
// sees FIN) sees it with the goodbye, as the JavaScript client sends them.
// A conn without CloseWrite (ws: the JavaScript ws peer closes the socket
// itself after its own goodbye, and a WebSocket close frame would cut off
// its reply) stays open. Either way data from the peer can still be read.
// Later Writes fail with ErrWriteClosed.
func (c *Conn) CloseWrite() error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	if err := c.Handshake(); err != nil {
		return err
	}
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	if err := c.out.writeGoodbye(c); err != nil {
		if c.closed.Load() {
			return net.ErrClosed
		}
		return err
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok && !c.fin {
		c.fin = true // under out.mu
		if err := cw.CloseWrite(); err != nil {
			if c.closed.Load() {
				return net.ErrClosed
			}
			return fmt.Errorf("shs: goodbye sent, but half-closing the transport failed: %w", err)
		}
	}
	return nil
}

// Close sends the goodbye (if the handshake completed, no Write is in
// progress and it has not been sent yet) with a write deadline of one
// second, then closes the underlying conn. The goodbye is best effort: if
// the peer is gone or not reading, Close still closes and reports only the
// underlying conn's Close error (use CloseWrite to learn whether the
// goodbye went out). Blocked Reads and Writes return; later calls return
// net.ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	if c.hsDone.Load() && c.out.mu.TryLock() {
		if c.out.err == nil && !c.out.goodbye {
			c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
			c.out.writeGoodbye(c)
		}
		c.out.tStart, c.out.tEnd = 0, 0
		c.out.releaseBuf()
		c.out.mu.Unlock()
	}
	err := c.conn.Close()
	if c.in.mu.TryLock() {
		c.in.releaseAll()
		c.in.mu.Unlock()
	}
	return err
}

// LocalAddr returns the local address of the underlying conn.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote address of the underlying conn.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the underlying conn.
// They also bound a handshake run by Read or Write.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the underlying conn.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the underlying conn.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying conn. Reading or writing it directly
// corrupts the stream.
func (c *Conn) NetConn() net.Conn { return c.conn }

// RemoteKey returns the peer's long-term public key once the handshake has
// completed, and nil before. On a client it is the configured ServerKey.
func (c *Conn) RemoteKey() ed25519.PublicKey {
	if !c.hsDone.Load() {
		return nil
	}
	return c.remote
}

// SessionID returns a value that both ends of the conn compute alike
// and that no other conn shares, once the handshake has completed (the
// zero value before): the SHA-256 of the two hello MACs, which were sent
// in the clear, so it is no secret. It lets both peers agree on an order
// of their conns, as multiserver.ConnSet does.
func (c *Conn) SessionID() [32]byte {
	if !c.hsDone.Load() {
		return [32]byte{}
	}
	return c.session
}

// LocalKey returns the long-term public key this side authenticated with
// (the seed's key for a client with Config.Seed) once the handshake has
// completed, and nil before.
func (c *Conn) LocalKey() ed25519.PublicKey {
	if !c.hsDone.Load() {
		return nil
	}
	return c.local
}

// Auth returns what Config.Authorize returned for the client, on a server
// whose handshake has completed; nil otherwise.
func (c *Conn) Auth() any {
	if !c.hsDone.Load() {
		return nil
	}
	return c.auth
}

// LocalSection returns "shs:<base64 local key>" (just "shs" before the
// handshake has completed).
func (c *Conn) LocalSection() msaddr.Section { return keySection(c.LocalKey()) }

// RemoteSection returns "shs:<base64 remote key>" (just "shs" before the
// handshake has completed), the form the JavaScript multiserver reports.
func (c *Conn) RemoteSection() msaddr.Section { return keySection(c.RemoteKey()) }

func keySection(k ed25519.PublicKey) msaddr.Section {
	if k == nil {
		return msaddr.Section{Name: Name}
	}
	return msaddr.Section{Name: Name, Args: []string{EncodeKey(k)}}
}
