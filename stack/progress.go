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
