package ws

import (
	"context"
	"fmt"
	"time"
)

// keepAlive pings the peer when nothing moved for an interval, and kills
// the connection when a ping stays unanswered for another interval with
// nothing received or sent meanwhile. A reader waiting for the application
// or a send in progress counts as a sign of life: the peer is slow, not
// gone (and a pong cannot be read while the reader waits). So does data we
// sent after the last we received: the ping may wait behind it in the
// peer's buffers while the peer's application is busy.
func (c *Conn) keepAlive(interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var pong chan error // non-nil while a ping is out
	last := c.activity()
	for {
		select {
		case <-c.closing:
			if pong != nil {
				<-pong // Ping returns once the WebSocket is closed
			}
			return
		case <-pong:
			pong = nil
			continue
		case <-t.C:
		}
		now := c.activity()
		if now != last || c.rblocked.Load() || c.wbusy.Load() {
			last = now
			continue
		}
		if pong != nil && !c.owed.Load() {
			c.kill(fmt.Errorf("%w: no pong and no data for %v", ErrKeepAlive, interval))
			<-pong
			return
		}
		ch := make(chan error, 1)
		pong = ch
		go func() { ch <- c.ws.Ping(context.Background()) }()
	}
}

// activity changes whenever data is received or sent.
func (c *Conn) activity() uint64 { return c.received.Load() + c.sent.Load() }
