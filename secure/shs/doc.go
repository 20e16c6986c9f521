// Package shs implements Scuttlebutt's secret handshake (shs1) and
// box-stream, byte-compatible with the JavaScript secret-handshake 1.1.21
// and pull-box-stream 1.0.13, as a net.Conn.
//
// The API follows crypto/tls: Client and Server wrap a net.Conn in a *Conn
// whose handshake runs on first use (or by Handshake/HandshakeContext);
// NewListener wraps a listener without running handshakes in Accept; Dialer
// dials and completes the handshake. After the handshake, RemoteKey returns
// the peer's long-term ed25519 key and, on a server, Auth returns what
// Config.Authorize decided.
//
// Both peers must share the app key (network identifier; the main
// Scuttlebutt network's by default) and the client must know the server's
// public key in advance. The handshake authenticates both sides and hides
// the client's identity from everyone but the server; box-stream then
// encrypts and authenticates each direction with XSalsa20-Poly1305.
//
// The package is also the multiserver "shs" transform (NewTransform):
// listeners advertise "shs:<base64 key>", and dial addresses carry the
// server key and optionally an invite seed, "shs:<key>:<seed>".
//
// Keys are read and written in the Scuttlebutt formats: "@<base64>.ed25519"
// ids (FormatID, ParseID) and the ~/.ssb/secret JSON file (ReadSecretFile,
// WriteSecretFile).
//
// The wire format as implemented, including what the receiver tolerates,
// is described in spec.md next to this file.
package shs
