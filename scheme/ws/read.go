package ws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/coder/websocket"
)

// readLoop moves received messages into c.chunks.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	code, err := c.readMessages()
	if k := c.killed.Load(); k != nil {
		err = *k
	}
	c.rerr = err
	close(c.chunks)
	if code != 0 {
		// After Read has the error: the handshake can take as long as
		// the peer does (Close bounds it by dropping TCP).
		_ = c.ws.Close(code, "multiserver ws carries binary messages only")
	}
}

// readMessages reads until the conn fails. A non-zero code asks readLoop
// to close the WebSocket with it.
func (c *Conn) readMessages() (websocket.StatusCode, error) {
	ctx := context.Background()
	for {
		typ, r, err := c.ws.Reader(ctx)
		if err != nil {
			return 0, c.readError(err)
		}
		if typ != websocket.MessageBinary {
			// Read the message to its end first: coder/websocket holds
			// its read lock until then, and Close needs it to read the
			// peer's close frame.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return 0, c.readError(err)
			}
			return websocket.StatusUnsupportedData, fmt.Errorf("ws: peer sent a %v message; only binary messages are allowed: %w", typ, ErrTextMessage)
		}
		big := false
		for {
			bp := getChunk(big)
			n, err := r.Read(*bp)
			big = n == len(*bp)
			if err != nil && err != io.EOF {
				// coder/websocket returns the bytes of a frame cut short
				// by the connection's end still masked (v1.8.15,
				// msgReader.read): never hand them to Read.
				n = 0
			}
			if n > 0 {
				c.received.Add(1)
				c.owed.Store(false)
				if !c.deliver(chunk{bp, n}) {
					putChunk(bp)
				}
			} else {
				putChunk(bp)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, c.readError(err)
			}
		}
	}
}

// deliver hands ch to Read. Once Close has started, data is dropped so
// that the close frame behind it can still be read.
func (c *Conn) deliver(ch chunk) bool {
	select {
	case c.chunks <- ch:
		return true
	default:
	}
	c.rblocked.Store(true)
	defer c.rblocked.Store(false)
	select {
	case c.chunks <- ch:
		return true
	case <-c.closing:
		return false
	}
}

func (c *Conn) readError(err error) error {
	select {
	case <-c.closing:
		return net.ErrClosed
	default:
	}
	switch code := websocket.CloseStatus(err); code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		// 1005 is a close frame without a status, as JavaScript's ws
		// sends when the stream ends.
		return io.EOF
	case -1:
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("ws: connection dropped without a close frame: %w", io.ErrUnexpectedEOF)
		}
		return fmt.Errorf("ws: %w", err)
	default:
		return fmt.Errorf("ws: peer closed the connection: %w", err)
	}
}

// Read reads data from the connection. It returns io.EOF after the peer
// closed the WebSocket normally (status 1000 or 1001).
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if isClosed(c.closing) {
		return 0, c.opError("read", net.ErrClosed)
	}
	if c.rdl.expired() {
		return 0, c.opError("read", os.ErrDeadlineExceeded)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.cur.buf == nil {
		select {
		case ch, ok := <-c.chunks:
			if !ok {
				return 0, c.readEnd()
			}
			c.cur, c.off = ch, 0
		default:
			select {
			case ch, ok := <-c.chunks:
				if !ok {
					return 0, c.readEnd()
				}
				c.cur, c.off = ch, 0
			case <-c.closing:
				return 0, c.opError("read", net.ErrClosed)
			case <-c.rdl.wait():
				return 0, c.opError("read", os.ErrDeadlineExceeded)
			}
		}
	}
	// Fill p from the chunks already received, without waiting for more.
	n := 0
	for {
		k := copy(p[n:], (*c.cur.buf)[c.off:c.cur.n])
		n += k
		c.off += k
		if c.off == c.cur.n {
			putChunk(c.cur.buf)
			c.cur = chunk{}
		}
		if n == len(p) {
			return n, nil
		}
		select {
		case ch, ok := <-c.chunks:
			if !ok {
				return n, nil // the next Read reports the end
			}
			c.cur, c.off = ch, 0
		default:
			return n, nil
		}
	}
}

func (c *Conn) readEnd() error {
	if c.rerr == io.EOF {
		return io.EOF
	}
	return c.opError("read", c.rerr)
}
