package stacktest_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/go-multiserver/multiserver/scheme/tcp"
	"github.com/go-multiserver/multiserver/scheme/unixsock"
	"github.com/go-multiserver/multiserver/scheme/ws"
	"github.com/go-multiserver/multiserver/secure/noauth"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The built-in transports that can listen. onion only dials (through a
// SOCKS5 proxy; its tests use internal/socks5test), wss needs a
// certificate, and serial needs a pseudo-terminal pair: each is tested
// in its own package.
func TestBuiltinTransports(t *testing.T) {
	t.Run("net", func(t *testing.T) { stacktest.TestTransport(t, tcp.New(nil), "net:127.0.0.1:0") })
	t.Run("ws", func(t *testing.T) { stacktest.TestTransport(t, ws.New(nil), "ws://127.0.0.1:0") })
	t.Run("unix", func(t *testing.T) {
		// t.TempDir paths can exceed the 104/108-byte sun_path limit.
		dir, err := os.MkdirTemp("", "st")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		stacktest.TestTransport(t, unixsock.New(nil), "unix:"+filepath.Join(dir, "s"))
	})
	t.Run("mem", func(t *testing.T) { stacktest.TestTransport(t, stacktest.NewTransport("mem"), "mem") })
}

func TestBuiltinTransforms(t *testing.T) {
	t.Run("noauth", func(t *testing.T) { stacktest.TestTransform(t, noauth.New(nil)) })
	t.Run("shs", func(t *testing.T) {
		tr, err := shs.NewTransform(nil)
		if err != nil {
			t.Fatal(err)
		}
		stacktest.TestTransform(t, tr)
	})
	t.Run("shs-small-frames", func(t *testing.T) {
		tr, err := shs.NewTransform(&shs.Config{MaxFrameSize: shs.MaxPacketSize})
		if err != nil {
			t.Fatal(err)
		}
		stacktest.TestTransform(t, tr)
	})
}
