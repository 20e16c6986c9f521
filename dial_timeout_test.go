package multiserver_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/socks5test"
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

// silentServer accepts TCP conns on loopback and never writes a byte; it
// returns its port. The conns are closed when the test ends.
func silentServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDialTimeoutEveryPhase dials with a context without deadline a peer
// that stalls in each phase of a dial: a SOCKS5 proxy that never answers
// the greeting or the CONNECT, a WebSocket server that never answers the
// upgrade, an shs server that never answers the hello. Dialer.Timeout must
// end each of them.
func TestDialTimeoutEveryPhase(t *testing.T) {
	t.Parallel()
	key := shs.EncodeKey(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	const onionName = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
	proxy := func(st socks5test.Stall) []stack.Transport {
		px, err := socks5test.New(socks5test.Config{Stall: st})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { px.Close() })
		return []stack.Transport{onion.New(&onion.Options{Proxies: []string{px.Addr()}})}
	}
	port := silentServer(t)
	tests := []struct {
		name       string
		addr       string
		transports []stack.Transport
	}{
		{"SOCKS5 greeting", "onion:" + onionName + ":80~shs:" + key, proxy(socks5test.StallGreeting)},
		{"SOCKS5 CONNECT", "onion:" + onionName + ":80~shs:" + key, proxy(socks5test.StallReply)},
		{"ws upgrade", fmt.Sprintf("ws://127.0.0.1:%d~shs:%s", port, key), nil},
		{"shs handshake", fmt.Sprintf("net:127.0.0.1:%d~shs:%s", port, key), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &ms.Dialer{Config: ms.Config{Transports: tt.transports}, Timeout: 100 * time.Millisecond}
			errc := make(chan error, 1)
			go func() {
				c, err := d.DialContext(context.Background(), tt.addr)
				if c != nil {
					c.Close()
				}
				errc <- err
			}()
			var err error
			select {
			case err = <-errc:
			case <-time.After(20 * time.Second):
				t.Fatal("DialContext still blocked 20 s after a 100 ms Dialer.Timeout")
			}
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "Dialer.Timeout") {
				t.Fatalf("DialContext = %v, want context.DeadlineExceeded naming Dialer.Timeout", err)
			}
		})
	}
}
