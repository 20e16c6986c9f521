package main

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// scriptReader answers each Read with the next count of bytes from data
// (capped by len(p)) and records the size of every buffer it was given.
type scriptReader struct {
	data   []byte
	counts []int
	sizes  []int
}

func (r *scriptReader) Read(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(r.counts) > 0 {
		n = min(n, r.counts[0])
		r.counts = r.counts[1:]
	}
	n = copy(p, r.data[:min(n, len(r.data))])
	r.data = r.data[n:]
	return n, nil
}

// TestCopyFlowBuffers checks which buffer each read gets: the small one
// until a read fills it, the big one while reads fill it, the small one
// again after a read that did not (where a conn going idle waits).
func TestCopyFlowBuffers(t *testing.T) {
	data := make([]byte, 3*bigCopy)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	r := &scriptReader{data: data, counts: []int{100, smallCopy, bigCopy, bigCopy, 1000, 7, smallCopy, 5000}}
	var w bytes.Buffer
	n, err := copyFlow(&w, r)
	if err != nil || n != int64(len(data)) || !bytes.Equal(w.Bytes(), data) {
		t.Fatalf("copyFlow = %d, %v; copied bytes equal: %v", n, err, bytes.Equal(w.Bytes(), data))
	}
	want := []int{smallCopy, smallCopy, bigCopy, bigCopy, bigCopy, smallCopy, smallCopy, bigCopy}
	if len(r.sizes) < len(want) {
		t.Fatalf("%d reads, want at least %d", len(r.sizes), len(want))
	}
	for i, s := range want {
		if r.sizes[i] != s {
			t.Fatalf("read %d got a %d-byte buffer, want %d (all: %v)", i, r.sizes[i], s, r.sizes[:len(want)])
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < 0 {
		return 0, errBroken
	}
	return min(len(p), w.n), nil
}

var errBroken = errors.New("broken")

func TestCopyFlowErrors(t *testing.T) {
	src := func() io.Reader { return bytes.NewReader(make([]byte, 10000)) }
	if _, err := copyFlow(&failWriter{n: -1}, src()); !errors.Is(err, errBroken) {
		t.Fatalf("write error: got %v", err)
	}
	if n, err := copyFlow(&failWriter{n: 10}, src()); err != io.ErrShortWrite || n != 10 {
		t.Fatalf("short write: got %d, %v", n, err)
	}
	if n, err := copyFlow(io.Discard, io.MultiReader(src(), iotestErr{})); !errors.Is(err, errBroken) || n != 10000 {
		t.Fatalf("read error: got %d, %v", n, err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errBroken }
