// Package ssbpeer is a test peer that ends connections the way an
// unmodified Scuttlebutt server does (ssb-server 16.0.1, measured in the
// project's reference notes): it answers each request at once, never sends
// the box-stream goodbye, and when the client's goodbye arrives it keeps
// the connection until it sees the transport's end (TCP FIN) or its
// inactivity timer fires. Only then does it send its last packet and close.
//
// A client that sends the goodbye but keeps its write side open is
// therefore held until the timer, as ssb-server holds it for 600 s; each
// End says which of the two closed the connection.
package ssbpeer

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// Last is the final packet the peer sends before it closes: packet-stream's
// goodbye, nine zero bytes, as ssb-server sends it.
var Last = make([]byte, 9)

// An End describes how one connection ended.
type End struct {
	// SawFIN reports that the client half-closed its transport after its
	// goodbye; false means the inactivity timer (or an error) ended it.
	SawFIN bool
	// Goodbye reports that the client's box-stream goodbye arrived.
	Goodbye bool
	// Received is the number of payload bytes read from the client.
	Received int
	// Err is the error that ended the conn early, if any.
	Err error
}

// Peer is a running peer on a loopback TCP port or a unix socket.
type Peer struct {
	ln         net.Listener
	cfg        *shs.Config
	inactivity time.Duration
	ends       chan End
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      map[net.Conn]struct{}
}

// Listen starts a peer on ln with cfg (a server config). Each request
// (each Read) is answered by the same bytes. inactivity is how long the
// peer waits for anything (data or FIN) before it closes.
func Listen(ln net.Listener, cfg *shs.Config, inactivity time.Duration) *Peer {
	p := &Peer{ln: ln, cfg: cfg, inactivity: inactivity, ends: make(chan End, 64), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

// Addr is the listening address.
func (p *Peer) Addr() net.Addr { return p.ln.Addr() }

// Ends delivers one End per finished connection.
func (p *Peer) Ends() <-chan End { return p.ends }

// Close stops the peer and closes its conns.
func (p *Peer) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Peer) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			end := p.handle(c)
			c.Close()
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
			select {
			case p.ends <- end:
			default:
			}
		}()
	}
}

func (p *Peer) handle(raw net.Conn) End {
	var end End
	sc := shs.Server(raw, p.cfg)
	buf := make([]byte, 64<<10)
	for {
		raw.SetReadDeadline(time.Now().Add(p.inactivity))
		n, err := sc.Read(buf)
		end.Received += n
		if n > 0 {
			if _, werr := sc.Write(buf[:n]); werr != nil {
				end.Err = werr
				return end
			}
		}
		if errors.Is(err, io.EOF) {
			end.Goodbye = true
			break
		}
		if err != nil {
			end.Err = err
			return end
		}
	}
	// The goodbye came; like ssb-server, wait for the transport's end.
	var one [1]byte
	raw.SetReadDeadline(time.Now().Add(p.inactivity))
	for {
		_, err := raw.Read(one[:])
		if errors.Is(err, io.EOF) {
			end.SawFIN = true
			break
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				end.Err = err
			}
			break
		}
	}
	// Last data, then close without the box-stream goodbye.
	raw.SetReadDeadline(time.Time{})
	if _, err := sc.Write(Last); err != nil && end.Err == nil {
		end.Err = err
	}
	return end
}
