package main

import (
	"io"
	"sync"
)

// Copy buffers. A copy waiting for data holds only a small buffer; data
// that keeps coming moves through a big pooled one, taken when a read
// fills the small buffer and given back as soon as a read does not fill
// the big one (the source had no more ready, so the next read may wait).
const (
	smallCopy = 512
	bigCopy   = 256 << 10
)

var bigCopyPool = sync.Pool{New: func() any { b := make([]byte, bigCopy); return &b }}

// copyFlow copies src to dst until EOF (a nil error) or the first error,
// like io.Copy, but without holding io.Copy's 32 KiB buffer for the life
// of the copy: an idle conn being echoed or forwarded costs smallCopy
// bytes, while a busy one moves up to bigCopy bytes per read and write.
func copyFlow(dst io.Writer, src io.Reader) (written int64, err error) {
	small := make([]byte, smallCopy)
	var big *[]byte
	defer func() {
		if big != nil {
			bigCopyPool.Put(big)
		}
	}()
	for {
		buf := small
		if big != nil {
			buf = *big
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			written += int64(w)
			if werr != nil {
				return written, werr
			}
			if w != n {
				return written, io.ErrShortWrite
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return written, nil
			}
			return written, rerr
		}
		switch {
		case big == nil && n == len(small):
			big = bigCopyPool.Get().(*[]byte)
		case big != nil && n < len(*big):
			bigCopyPool.Put(big)
			big = nil
		}
	}
}
