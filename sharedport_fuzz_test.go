package multiserver

import (
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

// FuzzSharedPortClassify: whatever a conn's first bytes, read in any
// number of pieces, the stack choice never panics, decides by 64 bytes,
// and decides the same for the same bytes however they were split.
func FuzzSharedPortClassify(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), uint8(3))
	f.Add([]byte{0x16, 0x03, 0x01, 0x02, 0x00}, uint8(1))
	f.Add(make([]byte, 64), uint8(10))
	tf, err := shs.NewTransform(nil)
	if err != nil {
		f.Fatal(err)
	}
	st, err := tf.Listen(msaddr.Section{Name: "shs"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	ss := &sharedSocket{recognize: st.(stack.HelloRecognizer), hello: newChanListener(0), http: newChanListener(1), tls: newChanListener(2)}
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		if len(data) > peekSize {
			data = data[:peekSize]
		}
		decide := func(step int) kind {
			k := kindUnknown
			for n := 0; k == kindUnknown && n < len(data); {
				n = min(len(data), n+step)
				k = ss.classify(data[:n])
			}
			return k
		}
		k := decide(1 + int(step%16))
		if k1 := decide(1); k1 != k {
			t.Fatalf("%x: decided %v read in pieces of %d, %v byte by byte", data, k, 1+step%16, k1)
		}
		if len(data) == peekSize && k == kindUnknown {
			t.Fatalf("64 bytes %x left undecided", data)
		}
		if k == kindHello {
			t.Fatalf("%x taken for an shs hello under the main network key", data)
		}
	})
}
