package onion

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/go-multiserver/multiserver/stack"
)

// Dial connects to the host and port of e, an endpoint from Parse, through
// the first proxy that answers. See the package documentation for the
// fallback rules.
func (t *Transport) Dial(ctx context.Context, e stack.Endpoint) (net.Conn, error) {
	ep, ok := e.(endpoint)
	if !ok {
		return nil, fmt.Errorf("%w: onion: endpoint %T is not from onion's Parse", stack.ErrAddress, e)
	}
	target := ep.a
	var errs []error
	for _, p := range t.opts.Proxies {
		c, err := t.dialVia(ctx, p, target)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("onion: dial %s: %w", &target, errors.Join(ctx.Err(), errors.Join(errs...)))
		}
		if errors.Is(err, ErrReply) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w for %s: %w", ErrNoProxy, &target, errors.Join(errs...))
}

// dialVia connects to target through the proxy at p.
func (t *Transport) dialVia(ctx context.Context, p string, target Addr) (net.Conn, error) {
	c, err := t.opts.Forward.DialContext(ctx, "tcp", p)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", p, err)
	}
	if err := t.handshake(ctx, c, p, target); err != nil {
		c.Close()
		return nil, err
	}
	return &conn{Conn: c, remote: &Addr{Host: target.Host, Port: target.Port}}, nil
}

// aLongTimeAgo is a deadline in the past, to interrupt I/O.
var aLongTimeAgo = time.Unix(1, 0)

func (t *Transport) handshake(ctx context.Context, c net.Conn, p string, target Addr) (err error) {
	// When ctx ends, a deadline in the past interrupts the I/O; the mutex
	// keeps the handshake's own deadlines from clearing it.
	var mu sync.Mutex
	cancelled := false
	setDeadline := func(d time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if !cancelled {
			c.SetDeadline(d)
		}
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		cancelled = true
		c.SetDeadline(aLongTimeAgo)
	})
	defer func() {
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("proxy %s: %w", p, ctx.Err())
		}
	}()
	setDeadline(time.Now().Add(t.opts.GreetingTimeout))
	if _, err := c.Write(greeting(t.opts.Auth)); err != nil {
		return fmt.Errorf("proxy %s: greeting: %w", p, err)
	}
	method, err := readMethod(c, t.opts.Auth)
	if err != nil {
		return fmt.Errorf("proxy %s: greeting: %w", p, err)
	}
	if method == methodUserPass {
		msg, err := userPass(t.opts.Auth)
		if err != nil {
			return err
		}
		if _, err := c.Write(msg); err != nil {
			return fmt.Errorf("proxy %s: authentication: %w", p, err)
		}
		if err := readUserPassStatus(c); err != nil {
			return fmt.Errorf("proxy %s: authentication: %w", p, err)
		}
	}
	setDeadline(time.Now().Add(t.opts.ConnectTimeout))
	defer setDeadline(time.Time{})
	if _, err := c.Write(connectRequest(target.Host, target.Port)); err != nil {
		return fmt.Errorf("proxy %s: connect request: %w", p, err)
	}
	code, err := readReply(c)
	if err != nil {
		return fmt.Errorf("proxy %s: reading the reply: %w", p, err)
	}
	if code != 0 {
		return &ReplyError{Proxy: p, Target: target.String(), Code: code}
	}
	return nil
}

// conn is a conn through a proxy; its RemoteAddr is the target.
type conn struct {
	net.Conn
	remote *Addr
}

// RemoteAddr returns the *Addr dialed.
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// NetConn returns the TCP conn to the proxy.
func (c *conn) NetConn() net.Conn { return c.Conn }
