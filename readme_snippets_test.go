package multiserver_test

// The Go code of README.md, where the compiler sees it: the body of each
// readme function is one README Go block, line for line, except the lines
// marked "not in README" that only make the fragment compile.
// TestREADMEGoBlocks checks that they agree.

import (
	"context"
	"crypto/ed25519"
	"net"
	"net/http"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/lan"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/serialport"
	"github.com/go-multiserver/multiserver/stack"
)

var _ = []any{readmeQuickStart, readmeSwap, readmeKeepKey, readmeLAN, readmeSerial, readmePolicy}

func readmeQuickStart(ctx context.Context, handler http.Handler) {
	// Server: bind what to serve, without keys. Port 0 picks a free port; the
	// unix socket's directory is made (0700) and removed on Close.
	ln, err := ms.Listen("net:127.0.0.1:0~shs;unix:/tmp/app/sock~noauth")
	// ln.Addr().String() is the full advertised address, with the server's key:
	//   net:127.0.0.1:43121~shs:<base64 key>;unix:/tmp/app/sock~noauth
	_ = err // not in README
	http.Serve(ln, handler)

	// Client: dial the advertised address as is.
	conn, err := ms.Dial(ctx, "net:127.0.0.1:43121~shs:<base64 key>")
	_, _ = conn, err // not in README
}

func readmeSwap() {
	ln, err := net.Listen("tcp", "127.0.0.1:8080") // before
	_, _ = ln, err                                 // not in README
	{                                              // not in README
		ln, err := ms.Listen("net:127.0.0.1:8080~shs") // after: authenticated and encrypted
		_, _ = ln, err                                 // not in README
	} // not in README
}

func readmeKeepKey(ctx context.Context) {
	key, err := shs.ReadSecretFile("/etc/app/secret")
	_ = err // not in README
	lc := ms.ListenConfig{Config: ms.Config{Identity: key}}
	ln, err := lc.Listen(ctx, "net:127.0.0.1:8080~shs") // the same address and key after every restart
	_, _ = ln, err                                      // not in README
}

func readmeLAN(ctx context.Context, ln *ms.Listener, key ed25519.PrivateKey) {
	a := &lan.Announcer{}              // every 2 s, both formats, every private subnet and IPv6 link
	addr, err := a.ListenerAddress(ln) // ln's private/local address, LAN-fit stacks only
	_ = err                            // not in README
	go a.Announce(ctx, addr, key)      // until ctx is done
	err = (&lan.Watcher{}).Watch(ctx, func(p lan.Peer) { ms.Dial(ctx, p.Address.String()) })
	_ = err // not in README
}

func readmeSerial(ctx context.Context) {
	cfg := ms.Config{Transports: []stack.Transport{serialport.New(nil)}}
	ln, err := (&ms.ListenConfig{Config: cfg}).Listen(ctx, "serial:/dev/rfcomm0:0~shs")        // one end
	_, _ = ln, err                                                                             // not in README
	conn, err := (&ms.Dialer{Config: cfg}).DialContext(ctx, "serial:/dev/rfcomm0:0~shs:<key>") // the other
	_, _ = conn, err                                                                           // not in README
}

func readmePolicy() {
	d := &ms.Dialer{Policy: ms.AllDial(ms.OnionForPublic, ms.NoauthOnDevice)} // the internet only through tor; noauth only here
	lc := &ms.ListenConfig{Policy: ms.NoauthFromDevice}
	_, _ = d, lc // not in README
}
