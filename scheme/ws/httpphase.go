package ws

import (
	"container/list"
	"net"
	"net/http"
	"sync"
)

// httpPhase counts the conns of a listener's http.Server that are in
// their HTTP phase: accepted and neither upgraded (hijacked) nor closed.
// At the bound, the conn that has waited longest without completing a
// request's headers (http.StateNew) or between requests (StateIdle) is
// closed for the new one: a flood of silent or slow conns cannot hold the
// port, and it can delay a legitimate client by one accept at most. If
// every counted conn is inside a request (upgrading or in
// Options.Handler), the new conn is closed instead.
type httpPhase struct {
	net.Listener
	max int

	mu    sync.Mutex
	order *list.List // of *phaseConn, oldest first
	conns map[net.Conn]*list.Element
	shed  int // conns closed at the bound, for tests
}

type phaseConn struct {
	c     net.Conn
	state http.ConnState
}

func newHTTPPhase(ln net.Listener, max int) *httpPhase {
	return &httpPhase{Listener: ln, max: max, order: list.New(), conns: map[net.Conn]*list.Element{}}
}

// Accept counts the conn it returns, making room first if needed. The
// conn is returned as it is (not wrapped) so that http.Server still sees
// a *tls.Conn.
func (h *httpPhase) Accept() (net.Conn, error) {
	for {
		c, err := h.Listener.Accept()
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		if h.order.Len() >= h.max {
			victim := h.victim()
			if victim == nil {
				h.shed++
				h.mu.Unlock()
				closeRaw(c)
				continue
			}
			h.remove(victim)
			h.shed++
			closeRaw(victim)
		}
		h.conns[c] = h.order.PushBack(&phaseConn{c: c, state: http.StateNew})
		h.mu.Unlock()
		return c, nil
	}
}

// victim returns the oldest conn not inside a request, or nil. h.mu is
// held.
func (h *httpPhase) victim() net.Conn {
	for e := h.order.Front(); e != nil; e = e.Next() {
		if pc := e.Value.(*phaseConn); pc.state == http.StateNew || pc.state == http.StateIdle {
			return pc.c
		}
	}
	return nil
}

func (h *httpPhase) remove(c net.Conn) {
	if e, ok := h.conns[c]; ok {
		h.order.Remove(e)
		delete(h.conns, c)
	}
}

// connState is the http.Server's ConnState hook.
func (h *httpPhase) connState(c net.Conn, s http.ConnState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch s {
	case http.StateHijacked, http.StateClosed:
		h.remove(c)
	default:
		if e, ok := h.conns[c]; ok {
			pc := e.Value.(*phaseConn)
			pc.state = s
			if s == http.StateIdle {
				// Idle counts from now: move it behind the others.
				h.order.MoveToBack(e)
			}
		}
	}
}

// count returns the conns counted and the conns shed so far.
func (h *httpPhase) count() (n, shed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.order.Len(), h.shed
}

// closeRaw closes the TCP conn under c (under TLS, without waiting to
// send a close_notify to a peer that may not read).
func closeRaw(c net.Conn) {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		u.NetConn().Close()
		return
	}
	c.Close()
}
