package shs_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
)

// handshakeErrors are the errors a handshake with a misbehaving peer may
// end with.
var handshakeErrors = []error{
	shs.ErrNetworkKey, shs.ErrLowOrderKey, shs.ErrServerKey, shs.ErrBadPublicKey,
	shs.ErrBadSignature, shs.ErrBadMAC, shs.ErrRejected, io.ErrUnexpectedEOF,
}

func knownHandshakeError(err error) bool {
	for _, e := range handshakeErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzServerHandshake plays a client against a server Conn: msg1 is used
// as is if it is 64 bytes long (else a valid hello is sent); the msg3
// plaintext is plain if it is 96 bytes long (else a valid one), boxed with
// the right key and then XORed with flip.
func FuzzServerHandshake(f *testing.F) {
	f.Add([]byte{}, []byte{}, []byte{})
	f.Add(make([]byte, 64), []byte{}, []byte{})
	f.Add([]byte{}, make([]byte, 96), []byte{})
	f.Add([]byte{}, []byte{}, []byte{0, 0, 0, 1})
	f.Add([]byte{}, append(make([]byte, 64), clientKey[32:]...), []byte{})
	f.Fuzz(func(t *testing.T, msg1, plain, flip []byte) {
		c1, c2 := net.Pipe()
		defer c1.Close()
		serr := serverSide(c2, serverConfig())
		var sent bool // a msg3 that should be accepted was sent
		if len(msg1) == 64 {
			c1.Write(msg1)
			buf := make([]byte, 64)
			if _, err := io.ReadFull(c1, buf); err == nil {
				// The fuzzer found a valid hello: fine, stop here.
				c1.Close()
			}
		} else {
			box, signed, err := tryHandMsg3(c1)
			if err == nil {
				valid := append(ed25519.Sign(clientKey, signed), clientKey[32:]...)
				p := valid
				if len(plain) == 96 {
					p = plain
				}
				msg3 := box(p)
				flipped := false
				for i := 0; i < len(flip) && i < len(msg3); i++ {
					msg3[i] ^= flip[i]
					flipped = flipped || flip[i] != 0
				}
				sent = bytes.Equal(p, valid) && !flipped
				c1.Write(msg3)
				n, _ := io.ReadFull(c1, make([]byte, shake.AcceptSize))
				if !sent && n != 0 {
					t.Fatalf("server sent %d bytes after an invalid msg3", n)
				}
			}
			c1.Close()
		}
		err := <-serr
		if sent && err != nil {
			t.Fatalf("valid handshake failed: %v", err)
		}
		if !sent && err == nil && len(msg1) != 64 {
			t.Fatal("server accepted an invalid msg3")
		}
		if err != nil && !knownHandshakeError(err) && !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzClientHandshake plays a server against a client Conn: msg2 and msg4
// are used as is if they have the right length, else valid ones are sent;
// flip is XORed into the valid msg4.
func FuzzClientHandshake(f *testing.F) {
	f.Add([]byte{}, []byte{}, []byte{})
	f.Add(make([]byte, 64), []byte{}, []byte{})
	f.Add([]byte{}, make([]byte, 80), []byte{})
	f.Add([]byte{}, []byte{}, []byte{1})
	f.Fuzz(func(t *testing.T, msg2, msg4, flip []byte) {
		c1, c2 := net.Pipe()
		defer c2.Close()
		cerr := make(chan error, 1)
		go func() {
			cc := shs.Client(c1, clientConfig())
			cerr <- cc.Handshake()
			cc.Close()
		}()
		lt, _ := shake.NewLongTerm(serverKey)
		st, _ := shake.NewState(&shs.MainNetKey, lt, nil)
		valid := false
		buf := make([]byte, shake.AuthSize)
		if _, err := io.ReadFull(c2, buf[:64]); err != nil {
			t.Fatal(err)
		}
		if err := st.VerifyHello(buf[:64]); err != nil {
			t.Fatal(err)
		}
		if len(msg2) == 64 {
			c2.Write(msg2)
		} else {
			c2.Write(st.Hello())
			if _, err := io.ReadFull(c2, buf); err != nil {
				t.Fatalf("no msg3 after a valid msg2: %v", err)
			}
			if err := st.VerifyClientAuth(buf); err != nil {
				t.Fatalf("client sent a bad msg3: %v", err)
			}
			m := st.ServerAccept()
			valid = true
			if len(msg4) == 80 {
				valid = bytes.Equal(msg4, m)
				m = msg4
			}
			for i := 0; i < len(flip) && i < len(m); i++ {
				m[i] ^= flip[i]
				valid = valid && flip[i] == 0
			}
			c2.Write(m)
		}
		c2.Close()
		err := <-cerr
		if valid != (err == nil) {
			t.Fatalf("valid=%v but handshake error %v", valid, err)
		}
		if err != nil && !knownHandshakeError(err) && !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
