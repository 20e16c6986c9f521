package multiserver

import (
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

// BenchmarkSharedPortClassify is the CPU cost of choosing a conn's stack
// from its first 64 bytes on a shared port, the HMAC check of an shs
// hello included (the worst case: a hello that is checked and fails,
// then matched against HTTP and TLS).
func BenchmarkSharedPortClassify(b *testing.B) {
	tf, err := shs.NewTransform(nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := tf.Listen(msaddr.Section{Name: "shs"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ss := &sharedSocket{recognize: st.(stack.HelloRecognizer), hello: newChanListener(0), http: newChanListener(1)}
	p := make([]byte, peekSize)
	for b.Loop() {
		if ss.classify(p) != kindGarbage {
			b.Fatal("64 zero bytes taken for a stack")
		}
	}
}
