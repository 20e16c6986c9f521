package multiserver_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

// deadTransport dials conns whose peer is already gone: the shs client
// prepares its keys and fails on its first write. A dial through it costs
// what DialContext does before the network matters, which is what two
// Dialers with different identities used to multiply (issue 13).
type deadTransport struct{}

func (deadTransport) Name() string { return "dead" }
func (deadTransport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	return sectionEndpoint{s}, nil
}
func (deadTransport) Dial(context.Context, stack.Endpoint) (net.Conn, error) {
	c, p := net.Pipe()
	p.Close()
	return c, nil
}
func (deadTransport) Listen(context.Context, msaddr.Section, []stack.Scope) (stack.Listener, error) {
	return nil, stack.ErrNotSupported
}
func (deadTransport) Section(net.Addr) (msaddr.Section, bool) { return msaddr.Section{}, false }

// BenchmarkDialIdentities dials with one Dialer, and with two Dialers of
// different identities used alternately; the two should cost the same.
func BenchmarkDialIdentities(b *testing.B) {
	_, server, _ := ed25519.GenerateKey(nil)
	addr := "dead:x~shs:" + shs.EncodeKey(server.Public().(ed25519.PublicKey))
	dialer := func() *ms.Dialer {
		_, id, _ := ed25519.GenerateKey(nil)
		return &ms.Dialer{Config: ms.Config{Identity: id, Transports: []stack.Transport{deadTransport{}}}}
	}
	run := func(b *testing.B, ds ...*ms.Dialer) {
		b.ReportAllocs()
		ctx := context.Background()
		cpu0, cpuOK := processCPU()
		for i := 0; b.Loop(); i++ {
			_, err := ds[i%len(ds)].DialContext(ctx, addr)
			if !errors.Is(err, ms.ErrHandshake) {
				b.Fatalf("Dial: %v, want a failed handshake", err)
			}
		}
		if cpu1, ok := processCPU(); ok && cpuOK {
			b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
		}
	}
	b.Run("one", func(b *testing.B) { run(b, dialer()) })
	b.Run("two-alternating", func(b *testing.B) { run(b, dialer(), dialer()) })
}
