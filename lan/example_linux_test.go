package lan_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"log"
	"net/netip"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/lan"
)

// An Announcer announces a listener; a Watcher finds it. Real peers use
// the zero values (every private subnet and IPv6 link, ports 26830 and
// 8008); this example stays on Linux loopback with ports of its own.
func ExampleWatcher() {
	seed := sha256.Sum256([]byte("example peer"))
	key := ed25519.NewKeyFromSeed(seed[:])
	lc := ms.ListenConfig{Config: ms.Config{Identity: key}, Scopes: []ms.Scope{ms.Device, ms.Private}}
	ln, err := lc.Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	loopback := []netip.Addr{netip.MustParseAddr("127.255.255.255")}
	a := &lan.Announcer{Port: 46830, LegacyPort: 48008, Destinations: loopback, AllowLoopback: true, Interval: 50 * time.Millisecond}
	w := &lan.Watcher{Port: 46830, LegacyPort: 48008, AllowLoopback: true, Formats: []lan.Format{lan.Signed}}

	addr, err := a.ListenerAddress(ln) // the LAN-fit stacks of ln only
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Announce(ctx, addr, key) }()
	w.Watch(ctx, func(p lan.Peer) {
		fmt.Println(p.Format, p.Verified, p.Address.Equal(addr), p.Source.Addr())
		cancel() // one is enough
	})
	<-done
	// Output:
	// ssb-lan true true 127.0.0.1
}
