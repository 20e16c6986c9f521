package interop

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// TestCloseWriteBeforeEcho: the Go client writes everything and sends its
// goodbye at once (with FIN on net, as the JS client does; nothing more on
// ws), before reading the echo. The JS server must still echo every byte
// and end with its goodbye: a half-closed transport must not cut its reply.
func TestCloseWriteBeforeEcho(t *testing.T) {
	requireJS(t)
	srv := startJSServer(t, jsServerOpts{stacks: "net,ws", host: "127.0.0.1"})
	for _, tr := range shsTransports {
		for _, n := range []int{1 << 10, 1 << 20} {
			t.Run(tr+"/"+byteSize(n), func(t *testing.T) {
				addr := srv.part(t, tr)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				c, err := shsDialer().DialContext(ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				msg := pattern(0, n)
				werr := make(chan error, 1)
				go func() {
					_, err := c.Write(msg)
					if err == nil {
						err = c.(*ms.Conn).CloseWrite()
					}
					werr <- err
				}()
				got, rerr := io.ReadAll(c)
				if err := <-werr; err != nil {
					t.Fatalf("write and CloseWrite: %v", err)
				}
				if rerr != nil || !bytes.Equal(got, msg) {
					t.Errorf("echo: %d of %d bytes, end %v; want all and a clean end (the JS goodbye)", len(got), n, rerr)
				}
				for _, ev := range []string{"authorize", "connect", "end"} {
					srv.expect(t, ev)
				}
			})
		}
	}
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return "1MiB"
	}
	return "1KiB"
}
