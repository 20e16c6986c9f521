package stack

import "context"

type progressKey struct{}

// WithHandshakeProgress returns a copy of ctx carrying f, for
// ServerTransform.Server. The multiserver listener passes such a ctx: a
// transform that calls HandshakeProgress when its handshake starts and
// each time it has received and checked a message gets a deadline for
// each step (instead of only one for the whole handshake), and while its
// slots are full the listener sheds the handshake that has gone longest
// without progress rather than make new clients wait.
func WithHandshakeProgress(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

// HandshakeProgress tells the listener that made ctx that the handshake
// has started or made a step; it does nothing for any other ctx.
func HandshakeProgress(ctx context.Context) {
	if f, ok := ctx.Value(progressKey{}).(func()); ok {
		f()
	}
}

type pressureKey struct{}

// WithPressure returns a copy of ctx carrying f, for ServerTransform.Server:
// f reports whether the listener is under pressure. The multiserver
// listener passes such a ctx.
func WithPressure(ctx context.Context, f func() bool) context.Context {
	return context.WithValue(ctx, pressureKey{}, f)
}

// UnderPressure reports whether the listener that made ctx has at least
// half of its handshake slots taken, as during a flood of conns that
// start a handshake and then stall. A transform may then put off costly
// work that such a peer would waste until the peer has sent what the work
// is for, at some cost in latency to the others (shs defers its two scalar
// multiplications from its answer to the client's authentication). It is
// false for any other ctx.
func UnderPressure(ctx context.Context) bool {
	f, ok := ctx.Value(pressureKey{}).(func() bool)
	return ok && f()
}
