package socks5test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReplies drives the server with raw SOCKS5 bytes.
func TestReplies(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		req  []byte
		want byte
	}{
		{"ip-not-allowed", Config{}, []byte{5, 1, 0, 1, 127, 0, 0, 1, 0, 80}, 0x02},
		{"clearnet-name-unreachable", Config{}, append([]byte{5, 1, 0, 3, 11}, "example.com\x00\x50"...), 0x04},
		{"chosen-code", Config{Reply: 0xF6}, append([]byte{5, 1, 0, 3, 7}, "x.onion\x00\x50"...), 0xF6},
		{"onion-port-closed", Config{}, append([]byte{5, 1, 0, 3, 7}, "x.onion\x00\x01"...), 0x05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write(append([]byte{5, 1, 0}, tt.req...))
			got := make([]byte, 2+10)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:2], []byte{5, 0}) || got[3] != tt.want {
				t.Fatalf("answers %v, want method 0 then reply %#x", got, tt.want)
			}
			if n := len(s.Requests()); n != 1 {
				t.Fatalf("%d requests recorded", n)
			}
		})
	}
}

// TestCloseEndsRelays checks that Close ends relayed and stalled conns.
func TestCloseEndsRelays(t *testing.T) {
	s, err := New(Config{Stall: StallGreeting})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitConn(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after Close = %v, want EOF", err)
	}
}
