// Package socks5test is a small SOCKS5 server for tests of the onion
// transport: it listens on loopback, connects every CONNECT for a *.onion
// name to the same port on 127.0.0.1 (so a test's loopback server stands
// in for the onion service), records what it was asked for, and can answer
// with a chosen reply code (tor's extended codes included) or stall.
//
// It never resolves a name: a CONNECT for a name that does not end in
// ".onion" is answered with reply 0x04 (host unreachable), and one for an
// IP address with 0x02 (not allowed).
package socks5test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// Stall says where the server stops answering.
type Stall int

const (
	// NoStall answers normally.
	NoStall Stall = iota
	// StallGreeting accepts the TCP connection and never answers.
	StallGreeting
	// StallReply answers the greeting, reads the CONNECT request and
	// never replies (as tor does while it builds a circuit).
	StallReply
)

// Config sets how a Server answers. The zero value relays *.onion to
// loopback.
type Config struct {
	// Reply, if not zero, is the reply code sent to every CONNECT instead
	// of connecting.
	Reply byte
	// Stall makes the server stop answering at some point.
	Stall Stall
}

// A Request is one CONNECT the server received.
type Request struct {
	// AddrType is the SOCKS address type: 1 IPv4, 3 domain name, 4 IPv6.
	AddrType byte
	// Host is the name or IP address as sent.
	Host string
	// Port is the requested port.
	Port int
	// User is the user name of username/password authentication, if any.
	User string
}

// Server is a running SOCKS5 server on 127.0.0.1.
type Server struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	accepted  chan struct{} // one token per accepted conn
	requested chan struct{} // one token per CONNECT

	mu     sync.Mutex
	closed bool
	reqs   []Request
	conns  map[net.Conn]struct{}
}

// events is how many accepts and requests the Wait methods can count
// before the server stops recording them.
const events = 1024

// New starts a server on a free port of 127.0.0.1.
func New(cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		ln:        ln,
		conns:     map[net.Conn]struct{}{},
		accepted:  make(chan struct{}, events),
		requested: make(chan struct{}, events),
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Requests returns the CONNECT requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// WaitConn waits until the server has accepted one more TCP conn than
// earlier WaitConn calls have seen.
func (s *Server) WaitConn(ctx context.Context) error { return wait(ctx, s.accepted) }

// WaitRequest waits until the server has received one more CONNECT than
// earlier WaitRequest calls have seen.
func (s *Server) WaitRequest(ctx context.Context) error { return wait(ctx, s.requested) }

func wait(ctx context.Context, ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func note(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Close stops the server, closes every connection it holds and waits for
// its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// track registers c to be closed by Close; false if already closing.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		note(s.accepted)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handle(c)
		}()
	}
}

func (s *Server) handle(c net.Conn) {
	if s.cfg.Stall == StallGreeting {
		io.Copy(io.Discard, c)
		return
	}
	user, err := greet(c)
	if err != nil {
		return
	}
	req, err := readRequest(c)
	if err != nil {
		return
	}
	req.User = user
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	note(s.requested)
	if s.cfg.Stall == StallReply {
		io.Copy(io.Discard, c)
		return
	}
	code := s.cfg.Reply
	var target net.Conn
	if code == 0 {
		switch {
		case req.AddrType != 3:
			code = 0x02
		case !strings.HasSuffix(strings.ToLower(req.Host), ".onion"):
			code = 0x04
		default:
			target, err = net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(req.Port)))
			if err != nil {
				code = 0x05
			}
		}
	}
	if _, err := c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil || code != 0 {
		if target != nil {
			target.Close()
		}
		return
	}
	if !s.track(target) {
		target.Close()
		return
	}
	defer s.untrack(target)
	relay(c, target)
}

// greet reads the method selection (and user/password authentication if
// the client offers it) and answers it. It returns the user name.
func greet(c net.Conn) (string, error) {
	var h [2]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return "", err
	}
	if h[0] != 5 {
		return "", fmt.Errorf("socks5test: version %d", h[0])
	}
	methods := make([]byte, h[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return "", err
	}
	method := byte(0xff)
	for _, m := range methods {
		if m == 2 || (m == 0 && method == 0xff) {
			method = m
		}
	}
	if _, err := c.Write([]byte{5, method}); err != nil {
		return "", err
	}
	switch method {
	case 0:
		return "", nil
	case 2:
		var b [2]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return "", err
		}
		user := make([]byte, b[1])
		if _, err := io.ReadFull(c, user); err != nil {
			return "", err
		}
		if _, err := io.ReadFull(c, b[:1]); err != nil {
			return "", err
		}
		if _, err := io.CopyN(io.Discard, c, int64(b[0])); err != nil {
			return "", err
		}
		_, err := c.Write([]byte{1, 0})
		return string(user), err
	}
	return "", errors.New("socks5test: no acceptable method")
}

func readRequest(c net.Conn) (Request, error) {
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return Request{}, err
	}
	if h[0] != 5 || h[1] != 1 {
		c.Write([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0})
		return Request{}, fmt.Errorf("socks5test: command %d", h[1])
	}
	req := Request{AddrType: h[3]}
	switch h[3] {
	case 1, 4:
		ip := make([]byte, 4)
		if h[3] == 4 {
			ip = make([]byte, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return Request{}, err
		}
		req.Host = net.IP(ip).String()
	case 3:
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return Request{}, err
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return Request{}, err
		}
		req.Host = string(name)
	default:
		c.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
		return Request{}, fmt.Errorf("socks5test: address type %d", h[3])
	}
	var p [2]byte
	if _, err := io.ReadFull(c, p[:]); err != nil {
		return Request{}, err
	}
	req.Port = int(binary.BigEndian.Uint16(p[:]))
	return req, nil
}

// relay copies both ways, passing on half-closes, until both directions
// end.
func relay(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	go pipe(a, b)
	go pipe(b, a)
	wg.Wait()
}
