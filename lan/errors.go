package lan

import "errors"

// Errors of this package. Every error returned or reported wraps one of
// them; errors never contain key material.
var (
	// ErrMalformed reports a datagram that is not an announcement of the
	// format it arrived in: undecryptable under the app key, not the JSON
	// ssb-lan writes, or not a multiserver address with an shs key.
	ErrMalformed = errors.New("lan: malformed announcement")

	// ErrSignature reports an ssb-lan announcement whose signature was not
	// made by the key inside its address.
	ErrSignature = errors.New("lan: bad signature")

	// ErrKeyMismatch reports an address whose shs sections name more than
	// one key: one key signs, so one key may be announced.
	ErrKeyMismatch = errors.New("lan: address names several keys")

	// ErrScope reports an address that must not travel on a LAN: a
	// device-scope stack (unix, serial, noauth, a loopback host), a
	// public or non-IP host, or a transport other than net, ws and wss.
	ErrScope = errors.New("lan: address not for the local network")

	// ErrTooLarge reports a datagram (or an address whose datagram would
	// be) longer than MaxDatagramSize.
	ErrTooLarge = errors.New("lan: datagram too large")

	// ErrSource reports a legacy announcement whose hosts are not the
	// address it came from.
	ErrSource = errors.New("lan: legacy announcement from another host")

	// ErrRate reports datagrams dropped because their source sent more
	// than the per-source rate allows.
	ErrRate = errors.New("lan: source over its rate")

	// ErrConfig reports an unusable Announcer or Watcher setting.
	ErrConfig = errors.New("lan: bad configuration")
)
