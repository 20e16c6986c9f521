package multiserver

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
// the conn until Accept returns it or the handshake fails.
type slot struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stepTO time.Duration

	last atomic.Int64 // UnixNano of the start or of the last step

	mu    sync.Mutex  // a transform may report from any goroutine
	timer *time.Timer // step deadline, from the first report on
	ended bool

	done bool // guarded by slots.mu: handshake finished, waiting for Accept
}

func newSlot(parent context.Context, stepTO time.Duration) *slot {
	s := &slot{stepTO: stepTO}
	s.ctx, s.cancel = context.WithCancelCause(parent)
	s.last.Store(time.Now().UnixNano())
	s.ctx = stack.WithHandshakeProgress(s.ctx, s.progress)
	return s
}

// progress records a step of the handshake and restarts the step
// deadline.
func (s *slot) progress() {
	s.last.Store(time.Now().UnixNano())
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
// than make them wait. Only when every slot holds a finished handshake
// waiting for Accept does a new conn wait, which is the backpressure a
// program that stops calling Accept gets.
type slots struct {
	max int

	mu    sync.Mutex
	live  map[*slot]struct{}
	freed chan struct{} // closed and replaced when a finished slot is released
}

func newSlots(max int) *slots {
	return &slots{max: max, live: make(map[*slot]struct{}, max), freed: make(chan struct{})}
}

// acquire takes a slot for s, shedding the most stalled handshake if
// needed, or waits until one is released or closed is closed. It reports
// false in the last case.
func (t *slots) acquire(s *slot, closed <-chan struct{}) bool {
	for {
		t.mu.Lock()
		if len(t.live) < t.max {
			t.live[s] = struct{}{}
			t.mu.Unlock()
			return true
		}
		if v := t.victim(); v != nil {
			delete(t.live, v)
			t.live[s] = struct{}{}
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

// victim returns the handshake in flight whose last progress is oldest,
// or nil if every slot holds a finished handshake. t.mu is held.
func (t *slots) victim() *slot {
	var v *slot
	var oldest int64
	for s := range t.live {
		if s.done {
			continue
		}
		if l := s.last.Load(); v == nil || l < oldest {
			v, oldest = s, l
		}
	}
	return v
}

// finished marks s as holding a finished handshake: it is no longer
// shed. It reports false if s was shed already.
func (t *slots) finished(s *slot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[s]; !ok {
		return false
	}
	s.done = true
	return true
}

// release frees the slot of s, if it was not shed.
func (t *slots) release(s *slot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[s]; !ok {
		return
	}
	delete(t.live, s)
	close(t.freed)
	t.freed = make(chan struct{})
}
