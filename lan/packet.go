package lan

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// Ports and sizes of the two formats.
const (
	// Port is the UDP port of ssb-lan's signed announcements.
	Port = 26830
	// LegacyPort is the UDP port of the legacy plain-text announcements.
	LegacyPort = 8008
	// MaxDatagramSize bounds the datagrams this package sends and
	// accepts: 1472 bytes, the UDP payload of one unfragmented IPv4
	// packet on Ethernet. An address too long for it is refused.
	MaxDatagramSize = 1472
)

const sigSize = ed25519.SignatureSize

// A Format is one of the two announcement formats.
type Format uint8

const (
	// Legacy is the plain-text datagram on UDP 8008: the address itself,
	// unauthenticated.
	Legacy Format = iota + 1
	// Signed is ssb-lan's datagram on UDP 26830: the address boxed under
	// the app key and signed by the key inside it.
	Signed
)

// String returns "legacy" or "ssb-lan".
func (f Format) String() string {
	switch f {
	case Legacy:
		return "legacy"
	case Signed:
		return "ssb-lan"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// MarshalText encodes f as its String form, for JSON.
func (f Format) MarshalText() ([]byte, error) {
	if f != Legacy && f != Signed {
		return nil, fmt.Errorf("%w: unknown format %d", ErrConfig, uint8(f))
	}
	return []byte(f.String()), nil
}

// A Peer is one peer found on the network: what its announcement said and
// where it came from.
type Peer struct {
	// Address is the announced multiserver address, with the peer's key.
	Address msaddr.Multi
	// Key is the peer's ed25519 public key, from the address's shs
	// section.
	Key ed25519.PublicKey
	// Format is the format the announcement arrived in.
	Format Format
	// Verified is true when the announcement was signed by Key (Signed
	// format); legacy announcements are never verified.
	Verified bool
	// Source is the address the datagram came from; zero for a Peer
	// decoded by Open or ParseLegacy.
	Source netip.AddrPort
}

// appKeyOf returns the 32-byte app key, MainNetKey for nil.
func appKeyOf(k []byte) (*[32]byte, error) {
	if k == nil {
		return &shs.MainNetKey, nil
	}
	if len(k) != 32 {
		return nil, fmt.Errorf("%w: app key is %d bytes, want 32", ErrConfig, len(k))
	}
	return (*[32]byte)(k), nil
}

// nonce is ssb-keys' fixed secretbox nonce: the first 24 bytes of the key.
func nonce(key *[32]byte) *[24]byte { return (*[24]byte)(key[:24]) }

// boxJSON is the plaintext ssb-keys secretBox encrypts:
// JSON.stringify({address}).
func boxJSON(address string) []byte {
	return append(appendJSString([]byte(`{"address":`), address), '}')
}

// signedJSON is what ssb-keys signObj signs:
// JSON.stringify({address}, null, 2), without a trailing newline.
func signedJSON(address string) []byte {
	return append(appendJSString([]byte("{\n  \"address\": "), address), "\n}"...)
}

// appendJSString appends s as JavaScript's JSON.stringify writes a string:
// only '"', '\\' and control characters are escaped, control characters
// as \b \t \n \f \r or \u00xx in lower-case hex. Unlike encoding/json
// (even with SetEscapeHTML(false)) it leaves U+2028 and U+2029 alone.
// s must be valid UTF-8.
func appendJSString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	return append(b, '"')
}

// Seal returns the ssb-lan datagram announcing addr: the JSON
// {"address": addr} boxed under appKey (nil: shs.MainNetKey) with
// ssb-keys' fixed nonce, followed by priv's signature over the
// two-space-indented JSON. Every shs section of addr must carry priv's
// public key. Seal does not check scopes (see Announcer).
func Seal(addr msaddr.Multi, priv ed25519.PrivateKey, appKey []byte) ([]byte, error) {
	key, err := appKeyOf(appKey)
	if err != nil {
		return nil, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key is %d bytes, want %d", ErrConfig, len(priv), ed25519.PrivateKeySize)
	}
	k, err := keyOf(addr)
	if err != nil {
		return nil, err
	}
	if !k.Equal(priv.Public()) {
		return nil, fmt.Errorf("%w: the address's shs key is not the signing key", ErrKeyMismatch)
	}
	s := addr.String()
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: address is not valid UTF-8", ErrMalformed)
	}
	pt := boxJSON(s)
	if n := len(pt) + secretbox.Overhead + sigSize; n > MaxDatagramSize {
		return nil, fmt.Errorf("%w: the ssb-lan datagram of this address is %d bytes, the most is %d", ErrTooLarge, n, MaxDatagramSize)
	}
	out := secretbox.Seal(make([]byte, 0, len(pt)+secretbox.Overhead+sigSize), pt, nonce(key), key)
	return append(out, ed25519.Sign(priv, signedJSON(s))...), nil
}

// Open decodes an ssb-lan datagram as ssb-lan reads it (the last 64 bytes
// are the signature, the rest a secretbox under appKey, nil meaning
// shs.MainNetKey) and checks the signature against the key in the address.
// A bad signature is an error wrapping ErrSignature, so a Peer returned
// without error is always Verified.
func Open(datagram []byte, appKey []byte) (Peer, error) {
	key, err := appKeyOf(appKey)
	if err != nil {
		return Peer{}, err
	}
	if len(datagram) > MaxDatagramSize {
		return Peer{}, fmt.Errorf("%w: %d bytes, the most is %d", ErrTooLarge, len(datagram), MaxDatagramSize)
	}
	if len(datagram) < secretbox.Overhead+sigSize {
		return Peer{}, fmt.Errorf("%w: %d bytes, too short for a box and a signature", ErrMalformed, len(datagram))
	}
	box, sig := datagram[:len(datagram)-sigSize], datagram[len(datagram)-sigSize:]
	pt, ok := secretbox.Open(nil, box, nonce(key), key)
	if !ok {
		return Peer{}, fmt.Errorf("%w: does not open under the app key", ErrMalformed)
	}
	// JSON.parse semantics: an object, exact key names, the last of
	// duplicate keys wins, invalid UTF-8 read as U+FFFD.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(pt, &obj); err != nil {
		return Peer{}, fmt.Errorf("%w: box content is not a JSON object", ErrMalformed)
	}
	var s string
	if raw, ok := obj["address"]; !ok || json.Unmarshal(raw, &s) != nil {
		return Peer{}, fmt.Errorf("%w: no address string in the box", ErrMalformed)
	}
	p, err := parseAddress(s)
	if err != nil {
		return Peer{}, err
	}
	// As ssb-keys verifyObj: the signature covers the JSON re-made from
	// the decoded address, not the bytes in the box.
	if !ed25519.Verify(p.Key, signedJSON(s), sig) {
		return Peer{}, fmt.Errorf("%w: not signed by the key in the address", ErrSignature)
	}
	p.Format, p.Verified = Signed, true
	return p, nil
}

// ParseLegacy decodes a legacy datagram: a multiserver address in UTF-8
// with an shs key. The Peer is not Verified: anyone can send one.
func ParseLegacy(datagram []byte) (Peer, error) {
	if len(datagram) > MaxDatagramSize {
		return Peer{}, fmt.Errorf("%w: %d bytes, the most is %d", ErrTooLarge, len(datagram), MaxDatagramSize)
	}
	if !utf8.Valid(datagram) {
		return Peer{}, fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	p, err := parseAddress(string(datagram))
	if err != nil {
		return Peer{}, err
	}
	p.Format = Legacy
	return p, nil
}

// parseAddress parses an announced address and takes its key.
func parseAddress(s string) (Peer, error) {
	m, err := msaddr.Parse(s)
	if err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	k, err := keyOf(m)
	if err != nil {
		return Peer{}, err
	}
	return Peer{Address: m, Key: k}, nil
}

// keyOf returns the key of the shs sections of m, which must all carry
// the same one; like ssb-ref getKeyFromAddress, any section whose name
// starts with "shs" counts.
func keyOf(m msaddr.Multi) (ed25519.PublicKey, error) {
	var key ed25519.PublicKey
	for _, a := range m {
		for _, s := range a.Transforms() {
			if !strings.HasPrefix(s.Name, "shs") {
				continue
			}
			if len(s.Args) == 0 {
				return nil, fmt.Errorf("%w: shs section without a key", ErrMalformed)
			}
			k, err := shs.ParseKey(s.Args[0])
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			if key == nil {
				key = k
			} else if !key.Equal(ed25519.PublicKey(k)) {
				return nil, ErrKeyMismatch
			}
		}
	}
	if key == nil {
		return nil, fmt.Errorf("%w: no shs key in the address", ErrMalformed)
	}
	return key, nil
}
