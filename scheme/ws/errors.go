package ws

import "errors"

// Errors of the ws transport, wrapped with %w and details.
var (
	// ErrNoCertificate reports a wss listener configured with neither a
	// tls.Config nor a certificate and key file.
	ErrNoCertificate = errors.New("ws: wss needs a certificate (Options.TLSConfig, or CertFile and KeyFile)")

	// ErrTextMessage reports a peer that sent a text message. The
	// multiserver ws protocol carries binary messages only (JavaScript's
	// ws closes on text that is not UTF-8); the conn is closed with status
	// 1003.
	ErrTextMessage = errors.New("ws: text message received")

	// ErrKeepAlive reports a connection dropped because the peer answered
	// no keepalive ping (see Options.KeepAlive).
	ErrKeepAlive = errors.New("ws: keepalive: peer gone")

	// ErrOrigin reports a WebSocket upgrade refused (403 Forbidden)
	// because the page that asked for it came from an origin the
	// listener does not accept; see Options.OriginPatterns. The listener
	// logs it to Options.ErrorLog.
	ErrOrigin = errors.New("ws: origin not allowed")

	// ErrOriginPattern reports a malformed Options.OriginPatterns entry,
	// from Listen.
	ErrOriginPattern = errors.New("ws: bad origin pattern")

	// ErrHandlerInUse reports a second Listen on a Handler whose first
	// listener is still open.
	ErrHandlerInUse = errors.New("ws: Handler in use")
)
