package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

// halfClose shuts down the write side of c so the peer reads EOF, or
// closes c whole if its stack cannot half-close (ws without shs, for
// example).
func halfClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		return
	}
	c.Close()
}

// abort closes c so that its peer sees a failure, not a normal end: the
// transport is closed under any shs layer (no goodbye), and a TCP conn is
// reset. Neither protocol can carry a reason; the peer's error message
// names the likely ones.
func abort(c net.Conn) {
	bottom := c
	for {
		u, ok := bottom.(stack.Unwrapper)
		if !ok {
			break
		}
		next := u.NetConn()
		if next == nil || next == bottom {
			break
		}
		bottom = next
	}
	if tc, ok := bottom.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	bottom.Close()
	c.Close()
}

// pipe copies between a and b in both directions until both are done. A
// direction that ends with EOF half-closes its destination, so a tunnel
// keeps TCP's half-close (so does shs.ErrPeerClosed, the end ssb-server
// gives every conn); one that fails aborts both conns, so that each peer
// sees the failure rather than a normal end. pipe closes a and b before it
// returns the bytes moved each way and the first error.
func pipe(a, b net.Conn) (aToB, bToA int64, err error) {
	type result struct {
		n     int64
		err   error
		aToB  bool
		first bool
	}
	results := make(chan result, 2)
	var once sync.Once
	copyHalf := func(dst, src net.Conn, ab bool) {
		n, err := copyFlow(dst, src)
		first := false
		switch {
		case err == nil:
			halfClose(dst)
		case errors.Is(err, shs.ErrPeerClosed):
			once.Do(func() { first = true })
			halfClose(dst)
		default:
			once.Do(func() { first = true })
			abort(dst)
			abort(src)
		}
		results <- result{n, err, ab, first}
	}
	go copyHalf(b, a, true)
	go copyHalf(a, b, false)
	for range 2 {
		r := <-results
		if r.aToB {
			aToB = r.n
		} else {
			bToA = r.n
		}
		if r.first {
			err = r.err
		}
	}
	a.Close()
	b.Close()
	return aToB, bToA, err
}

// pipeStdio pipes e.stdin to c and c to e.stdout, like netcat. EOF on
// stdin half-closes c. When the peer has closed its side (EOF from c),
// pipeStdio returns as soon as stdin is done too, or at once if stdin is
// a terminal (a person is not made to press ^D to get the prompt back;
// the read from stdin then stays blocked until the process exits). ctx
// being done closes c and ends it.
//
// The exit status is exitOK only for an end that shows the exchange was
// complete; see endStatus.
func pipeStdio(ctx context.Context, e *env, c net.Conn) int {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	stdin, stdout := e.stdin, e.stdout
	if f, ok := stdin.(*os.File); ok && !isTerminal(f) {
		pf, undo := pollable(f)
		defer undo()
		stdin = pf
	}
	if f, ok := stdout.(*os.File); ok {
		pf, undo := pollable(f)
		defer undo()
		stdout = pf
	}
	sent := make(chan error, 1)
	go func() {
		_, err := copyFlow(c, stdin)
		if err == nil {
			halfClose(c)
		}
		sent <- err
	}()
	n, err := copyFlow(stdout, c)
	var sendErr error
	if (err == nil || errors.Is(err, shs.ErrPeerClosed)) && !isTerminal(e.stdin) {
		select {
		case sendErr = <-sent:
		case <-ctx.Done():
		}
	}
	c.Close()
	if ctx.Err() != nil {
		e.errorf("interrupted")
		return exitFailure
	}
	return endStatus(e, c, n, err, sendErr)
}

// abrupt gives the likely reasons for a conn a server aborted.
const abrupt = "a server ends this way when it cannot serve the conn (ms listen --forward: its target is down; unix~noauth: the peer is another user), see its log"

// endStatus reports how a piped conn ended, having received n bytes: the
// receive error err (nil for a clean end) and the send error sendErr. The
// protocols cannot say why a peer hung up, so where the end is not clean
// the message gives the likely reasons.
func endStatus(e *env, c net.Conn, n int64, err, sendErr error) int {
	switch {
	case errors.Is(err, shs.ErrPeerClosed) && sendErr == nil:
		e.errorf("all was sent and %d bytes received, then the peer closed without the shs goodbye (as ssb-server does): the reply is probably complete, but nothing proves it", n)
		return exitUnconfirmed
	case errors.Is(err, shs.ErrNoGoodbye):
		e.errorf("the peer closed the conn without the shs goodbye after %d bytes: what was received may be cut short; %s", n, abrupt)
		return exitFailure
	case isReset(err) || isReset(sendErr):
		e.errorf("the peer reset the conn after %d bytes received, before it read everything (%v); %s", n, oneLine(firstErr(err, sendErr).Error()), abrupt)
		return exitFailure
	case err != nil:
		e.errorf("receiving: %v", err)
		return exitFailure
	case sendErr != nil:
		e.errorf("sending stdin: %v", sendErr)
		return exitFailure
	case n == 0 && !authenticated(c):
		e.errorf("the peer closed the conn without sending anything; with no shs on this stack nothing says why: if the peer speaks shs, dial it with ~shs:KEY (ms probe tells)")
		return exitUnconfirmed
	}
	return exitOK
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// isReset reports an error from a peer that reset the conn or stopped
// reading before it closed.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// authenticated reports whether c ends with a transform that marks a
// clean end (shs's goodbye), so that an end without one is noticed.
func authenticated(c net.Conn) bool {
	return ms.RemoteKey(c) != nil
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// tracker keeps the conns a server is serving, so a shutdown can close
// them and wait for their handlers.
type tracker struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// serve runs handle(c) in a goroutine, or closes c if the tracker was
// shut down.
func (t *tracker) serve(c net.Conn, handle func(net.Conn)) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		c.Close()
		return
	}
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	t.conns[c] = struct{}{}
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		handle(c)
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
	}()
}

// shutdown closes every conn being served and waits for the handlers.
func (t *tracker) shutdown() {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// isClosed reports an error from using a closed conn or listener.
func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// syncWriter serialises writes from concurrent goroutines (logs of
// several conns).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
