package onion

import (
	"errors"
	"fmt"
)

// Errors of the onion transport. A *ReplyError matches ErrReply and one of
// the more specific sentinels with errors.Is.
var (
	// ErrNoProxy reports that no SOCKS proxy could be reached or spoke
	// SOCKS5 (is tor running?).
	ErrNoProxy = errors.New("onion: no SOCKS5 proxy answered")
	// ErrProtocol reports bytes from a proxy that are not valid SOCKS5.
	ErrProtocol = errors.New("onion: SOCKS5 protocol error")
	// ErrReply reports a proxy that answered the CONNECT with a failure.
	ErrReply = errors.New("onion: SOCKS5 proxy refused the connection")

	// ErrRefused: the proxy's rules or the target refused (replies 0x02,
	// 0x05).
	ErrRefused = errors.New("onion: connection refused")
	// ErrUnreachable: the target could not be reached (replies 0x01,
	// 0x03, 0x04, 0x06).
	ErrUnreachable = errors.New("onion: host unreachable")
	// ErrUnsupported: the proxy does not support the request (replies
	// 0x07, 0x08).
	ErrUnsupported = errors.New("onion: request not supported by the proxy")
	// ErrOnionService: tor could not reach the onion service (replies
	// 0xF0–0xF3, 0xF7).
	ErrOnionService = errors.New("onion: onion service unreachable")
	// ErrOnionAuth: the onion service needs client authorization that is
	// missing or wrong (replies 0xF4, 0xF5).
	ErrOnionAuth = errors.New("onion: onion service client authorization failed")
	// ErrOnionAddress: tor says the onion address is invalid (reply 0xF6).
	ErrOnionAddress = errors.New("onion: invalid onion address")
)

// replyText describes the SOCKS5 reply codes (RFC 1928) and tor's extended
// onion service codes (tor proposal 304).
var replyText = map[byte]string{
	0x01: "general SOCKS server failure",
	0x02: "connection not allowed by ruleset",
	0x03: "network unreachable",
	0x04: "host unreachable",
	0x05: "connection refused",
	0x06: "TTL expired",
	0x07: "command not supported",
	0x08: "address type not supported",
	0xF0: "onion service descriptor can not be found",
	0xF1: "onion service descriptor is invalid",
	0xF2: "onion service introduction failed",
	0xF3: "onion service rendezvous failed",
	0xF4: "onion service missing client authorization",
	0xF5: "onion service wrong client authorization",
	0xF6: "onion service invalid address",
	0xF7: "onion service introduction timed out",
}

func replyClass(code byte) error {
	switch code {
	case 0x02, 0x05:
		return ErrRefused
	case 0x01, 0x03, 0x04, 0x06:
		return ErrUnreachable
	case 0x07, 0x08:
		return ErrUnsupported
	case 0xF0, 0xF1, 0xF2, 0xF3, 0xF7:
		return ErrOnionService
	case 0xF4, 0xF5:
		return ErrOnionAuth
	case 0xF6:
		return ErrOnionAddress
	}
	return nil
}

// A ReplyError is a failure reply from a SOCKS5 proxy.
type ReplyError struct {
	Proxy  string // the proxy's host:port
	Target string // the host:port asked for
	Code   byte   // the SOCKS5 reply code
}

func (e *ReplyError) Error() string {
	text, ok := replyText[e.Code]
	if !ok {
		text = "unknown reply code"
	}
	return fmt.Sprintf("onion: SOCKS5 proxy %s could not connect to %s: %s (0x%02X)", e.Proxy, e.Target, text, e.Code)
}

// Unwrap returns ErrReply and the sentinel for the code, if any.
func (e *ReplyError) Unwrap() []error {
	if c := replyClass(e.Code); c != nil {
		return []error{ErrReply, c}
	}
	return []error{ErrReply}
}
