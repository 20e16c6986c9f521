package ws

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/coder/websocket"
)

// Write queues p to be sent as binary messages of at most MaxMessage
// bytes. It blocks while the send queue is full.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for {
		if isClosed(c.closing) {
			return n, c.opError("write", net.ErrClosed)
		}
		if c.wdl.expired() {
			return n, c.opError("write", os.ErrDeadlineExceeded)
		}
		c.qmu.Lock()
		if c.qerr != nil {
			err := c.qerr
			c.qmu.Unlock()
			return n, c.opError("write", err)
		}
		if c.q == nil {
			c.q = queuePool.Get().(*[]byte)
		}
		if room := writeQueue - len(*c.q); room > 0 && n < len(p) {
			k := min(room, len(p)-n)
			*c.q = append(*c.q, p[n:n+k]...)
			n += k
			signal(c.qdata)
		}
		c.qmu.Unlock()
		if n == len(p) {
			return n, nil
		}
		select {
		case <-c.qspace:
		case <-c.closing:
		case <-c.wdl.wait():
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// writeLoop sends what Write queued. When Close starts it sends what is
// left and returns.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	defer close(c.wdone)
	for {
		select {
		case <-c.qdata:
		case <-c.closing:
			c.flush()
			return
		}
		if !c.flush() {
			return
		}
	}
}

// flush sends everything queued; false means sending failed.
func (c *Conn) flush() bool {
	for {
		c.qmu.Lock()
		q := c.q
		c.q = nil
		if q != nil && len(*q) == 0 {
			queuePool.Put(q)
			q = nil
		}
		if q != nil {
			signal(c.qspace)
		}
		c.qmu.Unlock()
		if q == nil {
			return true
		}
		c.wbusy.Store(true)
		var err error
		for b := *q; len(b) > 0 && err == nil; {
			m := min(len(b), MaxMessage)
			err = c.ws.Write(context.Background(), websocket.MessageBinary, b[:m])
			b = b[m:]
			c.sent.Add(1)
			c.owed.Store(true)
		}
		c.wbusy.Store(false)
		*q = (*q)[:0]
		queuePool.Put(q)
		if err != nil {
			if k := c.killed.Load(); k != nil {
				err = *k
			} else {
				err = fmt.Errorf("ws: send failed: %w", err)
			}
			c.qmu.Lock()
			c.qerr = err
			c.qmu.Unlock()
			signal(c.qspace)
			return false
		}
	}
}
