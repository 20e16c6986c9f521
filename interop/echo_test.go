package interop

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
)

// TestUnixNoauth runs the unix+noauth echo cells in both directions.
func TestUnixNoauth(t *testing.T) {
	requireJS(t)
	if runtime.GOOS == "windows" {
		t.Skip("the JS unix plugin uses named pipes on Windows, the Go one AF_UNIX sockets")
	}
	t.Run("GoClientJSServer", func(t *testing.T) {
		srv := startJSServer(t, jsServerOpts{stacks: "unix"})
		addr := srv.part(t, "unix")
		checkParses(t, addr)
		for _, sz := range sizes {
			t.Run(sz.name, func(t *testing.T) {
				var d ms.Dialer
				remote, end := goEcho(t, &d, addr, sz.n)
				if end != nil {
					t.Errorf("JS server did not end cleanly after the echo: %v", end)
				}
				if remote != addr {
					t.Errorf("RemoteAddr() = %q, want the dialled %q", remote, addr)
				}
				connect, _ := srv.expect(t, "connect")
				if !strings.HasPrefix(connect.Address, "unix:") {
					t.Errorf("JS server saw address %q", connect.Address)
				}
				e, _ := srv.expect(t, "end")
				if e.Bytes != int64(sz.n) || e.End != "goodbye" {
					t.Errorf("JS server: stream ended after %d bytes with %q; want %d and a clean end", e.Bytes, e.End, sz.n)
				}
			})
		}
	})
	t.Run("JSClientGoServer", func(t *testing.T) {
		sock := filepath.Join(shortDir(t), "s.sock")
		srv := startGoServer(t, &ms.ListenConfig{}, "unix:"+sock+"~noauth")
		addr := srv.Addr()
		if want := "unix:" + sock + "~noauth"; addr != want {
			t.Errorf("Go listener advertises %q, want %q", addr, want)
		}
		for _, sz := range sizes {
			t.Run(sz.name, func(t *testing.T) {
				r := runJSClient(t, addr, sz.n, jsClientOpts{})
				if r.code != 0 {
					t.Fatalf("JS client: %v", r)
				}
				if !strings.Contains(r.stdout, "close=goodbye") {
					t.Errorf("JS client: %v", r)
				}
				g := srv.result(t)
				if g.bytes != int64(sz.n) || g.readErr != nil || g.closeWriteErr != nil {
					t.Errorf("Go server: echoed %d bytes, peer end %v, CloseWrite %v; want %d, nil, nil", g.bytes, g.readErr, g.closeWriteErr, sz.n)
				}
			})
		}
	})
}

// checkParses checks that an address printed by the JS side parses in Go
// and formats back to the same string.
func checkParses(t testing.TB, addr string) {
	t.Helper()
	m, err := msaddr.Parse(addr)
	if err != nil {
		t.Fatalf("msaddr.Parse(%q): %v", addr, err)
	}
	if got := m.String(); got != addr {
		t.Errorf("msaddr.Parse(%q).String() = %q", addr, got)
	}
}
