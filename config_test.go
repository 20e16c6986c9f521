package multiserver_test

import (
	"context"
	"errors"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// TestMaxFrameSizeReachesShs: ms.Config.MaxFrameSize is handed to the shs
// transform (a value shs cannot use fails the handshake as invalid config).
func TestMaxFrameSizeReachesShs(t *testing.T) {
	ln := listen(t, &ms.ListenConfig{}, "net:127.0.0.1:0~shs")
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	for _, tt := range []struct {
		size int
		ok   bool
	}{{4096, true}, {0, true}, {70000, false}, {-1, false}} {
		d := &ms.Dialer{Config: ms.Config{MaxFrameSize: tt.size}}
		c, err := d.DialContext(context.Background(), ln.Addr().String())
		if tt.ok {
			if err != nil {
				t.Errorf("MaxFrameSize %d: Dial: %v", tt.size, err)
				continue
			}
			c.Close()
			continue
		}
		if !errors.Is(err, shs.ErrInvalidConfig) {
			t.Errorf("MaxFrameSize %d: Dial error %v, want shs.ErrInvalidConfig", tt.size, err)
		}
	}
}
