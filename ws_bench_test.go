package multiserver_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// The stack benchmarks follow the method of secure/shs's: one conn made
// before the timer starts; an op moves 64 MiB in 32 KiB writes and MB/s
// counts the 64 MiB once. One-way: the server reads and discards, then
// acks with a byte. Echo: a goroutine writes while the benchmark reads the
// echo back. Raw TCP and net~shs run next to ws~shs in the same run, so
// the ratio is comparable even on a shared machine:
//
//	go test -run '^$' -bench 'BenchmarkStack' -benchtime 5x -count 5 .
const (
	stackBenchOp    = 64 << 20
	stackBenchWrite = 32 << 10
)

// stackPair returns a dialed and an accepted conn for a listen address;
// "tcp" means plain loopback TCP without multiserver.
func stackPair(b *testing.B, addr string) (client, server net.Conn) {
	b.Helper()
	var ln net.Listener
	var err error
	if addr == "tcp" {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	} else {
		ln, err = ms.Listen(addr)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if addr == "tcp" {
		var d net.Dialer
		client, err = d.DialContext(ctx, "tcp", ln.Addr().String())
	} else {
		client, err = ms.Dial(ctx, ln.Addr().String())
	}
	if err != nil {
		b.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		b.Fatal(r.err)
	}
	return client, r.c
}

var stackBenchAddrs = []struct{ name, addr string }{
	{"tcp", "tcp"},
	{"net+shs", "net:127.0.0.1:0~shs"},
	{"ws+shs", "ws://127.0.0.1:0~shs"},
	{"ws+noauth", "ws://127.0.0.1:0~noauth"},
}

func BenchmarkStackOneWay(b *testing.B) {
	for _, s := range stackBenchAddrs {
		b.Run(s.name, func(b *testing.B) {
			c, srv := stackPair(b, s.addr)
			defer c.Close()
			defer srv.Close()
			done := make(chan error, 1)
			go func() {
				buf := make([]byte, stackBenchWrite)
				for {
					for n := 0; n < stackBenchOp; {
						k, err := srv.Read(buf)
						if err != nil {
							done <- err
							return
						}
						n += k
					}
					if _, err := srv.Write([]byte{1}); err != nil {
						done <- err
						return
					}
				}
			}()
			msg := make([]byte, stackBenchWrite)
			ack := make([]byte, 1)
			b.SetBytes(stackBenchOp)
			b.ReportAllocs()
			for b.Loop() {
				for n := 0; n < stackBenchOp; n += stackBenchWrite {
					if _, err := c.Write(msg); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := io.ReadFull(c, ack); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			srv.Close()
			<-done
		})
	}
}

func BenchmarkStackEcho(b *testing.B) {
	for _, s := range stackBenchAddrs {
		b.Run(s.name, func(b *testing.B) {
			c, srv := stackPair(b, s.addr)
			defer c.Close()
			defer srv.Close()
			copied := make(chan struct{})
			go func() {
				defer close(copied)
				buf := make([]byte, stackBenchWrite)
				io.CopyBuffer(struct{ io.Writer }{srv}, struct{ io.Reader }{srv}, buf)
			}()
			msg := make([]byte, stackBenchWrite)
			buf := make([]byte, stackBenchWrite)
			b.SetBytes(stackBenchOp)
			b.ReportAllocs()
			for b.Loop() {
				errc := make(chan error, 1)
				go func() {
					for n := 0; n < stackBenchOp; n += stackBenchWrite {
						if _, err := c.Write(msg); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				for n := 0; n < stackBenchOp; {
					k, err := c.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					n += k
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			srv.Close()
			<-copied
		})
	}
}
