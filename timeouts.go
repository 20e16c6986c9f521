package multiserver

import (
	"context"
	"time"
)

// withHandshakeTimeout bounds ctx by a HandshakeTimeout knob: zero means
// DefaultHandshakeTimeout, negative no bound (the meaning package shs
// gives it too).
func withHandshakeTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	switch {
	case d == 0:
		d = DefaultHandshakeTimeout
	case d < 0:
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
