package multiserver

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-multiserver/multiserver/stack"
)

// DefaultHandshakeStepTimeout is the default bound on each step of a
// handshake whose transform reports its steps (ListenConfig.
// HandshakeStepTimeout).
const DefaultHandshakeStepTimeout = 5 * time.Second

// Causes of a handshake's end that the listener decided.
var (
	errStepTimeout = errors.New("no handshake progress within HandshakeStepTimeout")
)

// A slot is one handshake in flight: from the moment its stack accepted
// the conn (for ws, its TCP accept; on a shared port, the start of the
// peek) until Accept returns it or the handshake fails.
type slot struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stepTO time.Duration
	owner  *slots

	mu    sync.Mutex  // a transform may report from any goroutine
	timer *time.Timer // step deadline, from the first report on
	ended bool

	// Guarded by owner.mu.
	last int64         // UnixNano of the start or of the last step
	held bool          // counted in owner.n
	done bool          // finished, waiting for Accept
	elem *list.Element // in owner.order while held, not done and not the server's turn
}

func newSlot(parent context.Context, stepTO time.Duration, owner *slots) *slot {
	s := &slot{stepTO: stepTO, owner: owner}
	s.ctx, s.cancel = context.WithCancelCause(parent)
	s.ctx = stack.WithHandshakeProgress(s.ctx, s.progress)
	s.ctx = stack.WithPressure(s.ctx, owner.crowded)
	return s
}

// progress records a step of the handshake and restarts the step
// deadline.
func (s *slot) progress() {
	s.owner.touch(s, false)
	s.restartStep()
}

// serverTurn records that the peer did its part of a step and the conn
// now waits for the server (a ws request whose headers arrived, on its
// way through the upgrade to the handshake): it is not shed until its next
// step. The step deadline bounds that wait too.
func (s *slot) serverTurn() {
	s.owner.touch(s, true)
	s.restartStep()
}

// resume ends a serverTurn when the conn's handshake starts: the conn is
// shed again by its last progress, now, and the step deadline is off
// until the transform reports a step (a transform that reports none is
// bounded by HandshakeTimeout alone, as on any stack).
func (s *slot) resume() {
	s.owner.touch(s, false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

func (s *slot) restartStep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended:
	case s.timer == nil:
		s.timer = time.AfterFunc(s.stepTO, func() { s.cancel(errStepTimeout) })
	default:
		s.timer.Reset(s.stepTO)
	}
}

// end stops the step deadline and frees the slot's context.
func (s *slot) end() {
	s.mu.Lock()
	s.ended = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.cancel(context.Canceled)
}

// slots bounds the handshakes in flight. When all are taken, a new conn
// takes the slot of the handshake that has gone longest without progress
// (its start, or its transform's last reported step): a flood of stalled
// handshakes is pushed out by new conns, legitimate ones included, rather
// than make them wait. Only conns waiting for their peer are shed: not a
// finished handshake waiting for Accept, nor a conn whose peer did its
// part and that waits for the server (serverTurn: a ws conn between its
// request's headers and its handshake). When every slot holds one of
// those, a new conn waits, which is the backpressure a program that stops
// calling Accept gets.
//
// The handshakes in flight are kept in order of their last progress, so
// that finding the one to shed costs the same at any MaxHandshakes: under
// a flood every new conn sheds one.
type slots struct {
	max int

	mu    sync.Mutex
	n     int           // slots held, finished handshakes included
	order list.List     // of *slot in flight, least recent progress first
	freed chan struct{} // closed and replaced when a finished slot is released
}

func newSlots(max int) *slots {
	return &slots{max: max, freed: make(chan struct{})}
}

// crowded reports whether at least half of the slots are held: the
// listener is under pressure (stack.UnderPressure).
func (q *slots) crowded() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return 2*q.n >= q.max
}

// acquire takes a slot for s, shedding the most stalled handshake if
// needed (only handshakes waiting for their peer are shed), or waits until one is released or closed is closed. It reports
// false in the last case.
func (t *slots) acquire(s *slot, closed <-chan struct{}) bool {
	for {
		t.mu.Lock()
		if t.n < t.max {
			t.n++
			t.hold(s)
			t.mu.Unlock()
			return true
		}
		if e := t.order.Front(); e != nil {
			v := e.Value.(*slot)
			t.order.Remove(e)
			v.elem, v.held = nil, false
			t.hold(s)
			t.mu.Unlock()
			v.cancel(ErrShed) // the listener closes its conn
			return true
		}
		freed := t.freed
		t.mu.Unlock()
		select {
		case <-freed:
		case <-closed:
			return false
		}
	}
}

// hold counts s as in flight, made progress now. t.mu is held.
func (t *slots) hold(s *slot) {
	s.held = true
	s.last = time.Now().UnixNano()
	s.elem = t.order.PushBack(s)
}

// touch records progress of s: it goes to the back of the order, or out
// of it while it is the server's turn.
func (t *slots) touch(s *slot, serverTurn bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.last = time.Now().UnixNano()
	switch {
	case !s.held || s.done:
	case serverTurn:
		if s.elem != nil {
			t.order.Remove(s.elem)
			s.elem = nil
		}
	case s.elem != nil:
		t.order.MoveToBack(s.elem)
	default:
		s.elem = t.order.PushBack(s)
	}
}

// finished marks s as holding a finished handshake: it is no longer
// shed. It reports false if s was shed already.
func (t *slots) finished(s *slot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !s.held {
		return false
	}
	s.done = true
	if s.elem != nil {
		t.order.Remove(s.elem)
		s.elem = nil
	}
	return true
}

// release frees the slot of s, if it was not shed.
func (t *slots) release(s *slot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !s.held {
		return
	}
	if s.elem != nil {
		t.order.Remove(s.elem)
		s.elem = nil
	}
	s.held = false
	t.n--
	close(t.freed)
	t.freed = make(chan struct{})
}
