package multiserver_test

import (
	"context"
	"net"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/connbench"
)

// The stack benchmarks are internal/connbench's, as in secure/shs: one
// conn made before the timer starts, an op moves 64 MiB in 32 KiB writes.
// Raw TCP and net~shs run next to ws~shs in the same run, so the ratio is
// comparable even on a shared machine:
//
//	go test -run '^$' -bench 'BenchmarkStack' -benchtime 5x -count 5 .

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
			connbench.OneWay(b, c, srv)
		})
	}
}

func BenchmarkStackEcho(b *testing.B) {
	for _, s := range stackBenchAddrs {
		b.Run(s.name, func(b *testing.B) {
			c, srv := stackPair(b, s.addr)
			connbench.Echo(b, c, srv)
		})
	}
}
