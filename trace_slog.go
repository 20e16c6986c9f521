package multiserver

import (
	"context"
	"log/slog"
)

// LogTrace returns a Trace that logs what a Dialer or Listener does to l:
// conns refused or over a limit at accept and failed handshakes at level
// Warn, failed dials at Info, and successful handshakes, closes (with
// bytes moved) and each connect at Debug. Attributes: side (dial or
// accept), stack, remote, reason, err, and for closes read and written.
// The library writes no log of its own; this and ListenConfig.OnError are
// how its events reach a log.
func LogTrace(l *slog.Logger) *Trace {
	ctx := context.Background()
	side := func(dialing bool) slog.Attr {
		if dialing {
			return slog.String("side", "dial")
		}
		return slog.String("side", "accept")
	}
	return &Trace{
		ConnectDone: func(i ConnectInfo) {
			if i.Err != nil {
				l.LogAttrs(ctx, slog.LevelDebug, "multiserver: connect failed", side(true), slog.String("stack", i.Alt.Stack), slog.String("reason", i.Reason), slog.Any("err", i.Err))
				return
			}
			l.LogAttrs(ctx, slog.LevelDebug, "multiserver: connected", side(true), slog.String("stack", i.Alt.Stack), slog.Duration("took", i.Duration))
		},
		DialDone: func(i DialDoneInfo) {
			if i.Err != nil {
				l.LogAttrs(ctx, slog.LevelInfo, "multiserver: dial failed", side(true), slog.String("reason", FailureReason(i.Err)), slog.Any("err", i.Err))
			}
		},
		Accept: func(i AcceptInfo) {
			if i.Err != nil {
				l.LogAttrs(ctx, slog.LevelWarn, "multiserver: conn closed before its handshake", side(false), slog.String("stack", i.Stack), slog.Any("remote", i.Remote), slog.String("reason", i.Reason), slog.Any("err", i.Err))
			}
		},
		HandshakeDone: func(i HandshakeInfo) {
			if i.Err != nil {
				l.LogAttrs(ctx, slog.LevelWarn, "multiserver: handshake failed", side(i.Dialing), slog.String("stack", i.Stack), slog.Any("remote", i.Remote), slog.String("reason", i.Reason), slog.Any("err", i.Err))
				return
			}
			l.LogAttrs(ctx, slog.LevelDebug, "multiserver: handshake done", side(i.Dialing), slog.String("stack", i.Stack), slog.Any("remote", i.Conn.RemoteAddr()), slog.Duration("took", i.Duration))
		},
		Closed: func(i CloseInfo) {
			l.LogAttrs(ctx, slog.LevelDebug, "multiserver: conn closed", side(i.Dialing), slog.String("stack", i.Stack), slog.Any("remote", i.Remote), slog.Int64("read", i.Read), slog.Int64("written", i.Written), slog.Duration("open", i.Duration))
		},
	}
}
