// Package ws is the WebSocket transport of multiserver: sections named
// "ws" and "wss", as written by JavaScript multiserver's ws plugin.
//
// Addresses are URLs, "ws://host[:port][/path][?query]" and "wss://…",
// with the default ports 80 and 443; JavaScript's "ws:host:port" is
// accepted too. In a multiserver address the URL needs no escaping other
// than '!' and '~': msaddr parses "ws://h:8080/p" as the section "ws" with
// the arguments "//h" and "8080/p", and this package joins them back.
//
// Use New for "ws" and NewSecure for "wss"; both take *Options, which may
// be nil:
//
//	wsT := ws.New(nil)
//	wssT := ws.NewSecure(&ws.Options{CertFile: "cert.pem", KeyFile: "key.pem"})
//
// The transport speaks binary messages through github.com/coder/websocket
// and presents each connection as a *Conn, a net.Conn with TCP-like
// deadlines, bounded Close, writes split into messages of at most
// MaxMessage bytes and keepalive pings; see Conn for the details.
//
// A listener accepts upgrades on any path, as JavaScript's does, and can
// serve plain HTTP on the same port (Options.Handler). Unlike JavaScript,
// which always binds all interfaces, it binds by scope: with no host in
// the listen section it binds loopback for the device scope, and all
// interfaces only when the section says 0.0.0.0 or ::. It advertises
// "ws://host:port" as JavaScript does, leaving out the default port. Its
// Addr is the bound *net.TCPAddr; RemoteAddr of an accepted conn is the
// TCP peer, or the X-Forwarded-For client with Options.TrustForwardedFor.
//
// A program that already runs an http.Server serves ws~shs from it with a
// Handler (Transport.Handler): mounted at a path of its own, it is the
// ws transport of a multiserver listener that advertises the mount
// point's URL, and the server keeps serving its other routes.
//
// Browsers: a web page may open a WebSocket to any host, and the browser
// tells the server the page's origin; the listener decides. By default a
// listener whose stack authenticates peers by key (ws~shs, see
// stack.PeerAuthenticator) accepts pages of any origin, as JavaScript's
// ws plugin does, and any other stack (ws~noauth, a bare ws) only pages
// served from the listener's own host and port, so that a page on some
// web site cannot reach an unauthenticated service on the user's
// loopback. Options.OriginPatterns replaces the default with a list.
//
// Throughput: coder/websocket masks client frames through a 4 KiB write
// buffer, so the dialing side makes one write system call per 4 KiB sent;
// the accepting side writes whole messages.
package ws
