// Package dnstest is a DNS server on loopback for tests: it answers TXT
// queries from a table, over UDP and over TCP, truncating UDP answers
// larger than 512 bytes so that resolvers retry over TCP, as RFC 1035
// servers do.
package dnstest

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// maxUDP is the largest UDP answer sent; larger ones are truncated. It
// ignores EDNS(0) on purpose, so that tests reach the TCP path.
const maxUDP = 512

// A Server answers TXT queries on one loopback port, UDP and TCP.
type Server struct {
	// Addr is the "127.0.0.1:port" the server answers on.
	Addr string

	// UDPQueries and TCPQueries count the queries received.
	UDPQueries, TCPQueries atomic.Int64

	udp *net.UDPConn
	tcp *net.TCPListener
	wg  sync.WaitGroup

	mu      sync.Mutex
	records map[string][][]string // lowercase FQDN -> records -> strings
	silent  map[string]chan struct{}
	conns   map[net.Conn]bool
}

// Start starts a server on a free loopback port; t's cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	// One port for both: take a TCP port and bind UDP on the same.
	for range 20 {
		tl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		ul, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tl.Addr().(*net.TCPAddr).Port})
		if err != nil {
			tl.Close()
			continue
		}
		s := &Server{Addr: tl.Addr().String(), udp: ul, tcp: tl,
			records: map[string][][]string{}, silent: map[string]chan struct{}{}, conns: map[net.Conn]bool{}}
		s.wg.Add(2)
		go s.serveUDP()
		go s.serveTCP()
		t.Cleanup(s.close)
		return s
	}
	t.Fatal("dnstest: no port free for both UDP and TCP")
	return nil
}

func fqdn(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

// Set makes name answer with one TXT record per string of records, each
// split into character-strings of at most 255 bytes. No records makes the
// name answer NXDOMAIN.
func (s *Server) Set(name string, records ...string) {
	var rr [][]string
	for _, r := range records {
		var strs []string
		for len(r) > 255 {
			strs = append(strs, r[:255])
			r = r[255:]
		}
		rr = append(rr, append(strs, r))
	}
	s.SetStrings(name, rr...)
}

// SetStrings makes name answer with the given records, each given as its
// character-strings.
func (s *Server) SetStrings(name string, records ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(records) == 0 {
		delete(s.records, fqdn(name))
		return
	}
	s.records[fqdn(name)] = records
}

// Silence makes queries for name go unanswered. The channel returned is
// closed when the first such query arrives.
func (s *Server) Silence(name string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan struct{})
	s.silent[fqdn(name)] = c
	return c
}

// Resolver returns a resolver that asks only this server.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr)
	}}
}

func (s *Server) close() {
	s.udp.Close()
	s.tcp.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := s.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		s.UDPQueries.Add(1)
		out, ok := s.answer(buf[:n], true)
		if ok {
			s.udp.WriteToUDP(out, from)
		}
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			for {
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				msg := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, msg); err != nil {
					return
				}
				s.TCPQueries.Add(1)
				out, ok := s.answer(msg, false)
				if !ok {
					continue
				}
				if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(out)))); err != nil {
					return
				}
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

// answer builds the reply to query; ok is false for no reply.
func (s *Server) answer(query []byte, udp bool) (out []byte, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	name := strings.ToLower(q.Name.String())
	s.mu.Lock()
	recs, found := s.records[name]
	silent, quiet := s.silent[name]
	if quiet {
		select {
		case <-silent:
		default:
			close(silent)
		}
	}
	s.mu.Unlock()
	if quiet {
		return nil, false
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !found {
		rh.RCode = dnsmessage.RCodeNameError
	}
	out, err = build(rh, q, recs)
	if err != nil {
		return nil, false
	}
	if udp && len(out) > maxUDP {
		rh.Truncated = true
		out, err = build(rh, q, nil)
		if err != nil {
			return nil, false
		}
	}
	return out, true
}

func build(h dnsmessage.Header, q dnsmessage.Question, recs [][]string) ([]byte, error) {
	b := dnsmessage.NewBuilder(nil, h)
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if q.Type == dnsmessage.TypeTXT {
		for _, r := range recs {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 60}
			if err := b.TXTResource(rh, dnsmessage.TXTResource{TXT: r}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}
