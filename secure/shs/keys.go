package shs

import (
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
)

const (
	idPrefix  = "@"
	keySuffix = ".ed25519"
)

// decodeB64 decodes standard or URL-safe base64 with or without padding,
// as Node's Buffer.from(s, "base64") does for well-formed input. Unlike
// Node it refuses stray characters (spaces, '*') instead of skipping them:
// a key with junk in it is more likely a paste error than a key.
func decodeB64(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		if strings.ContainsAny(s, "+/") {
			return nil, false // mixed alphabets
		}
		s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// ParseKey decodes a 32-byte key (a public key, an app key or a seed) from
// base64. It is lenient like the JavaScript implementation on the forms
// found in the wild: the standard or the URL-safe alphabet, with or without
// padding, optionally wrapped as an id "@<base64>.ed25519", with
// surrounding white space (a trailing newline) ignored. It does not
// check that the key is a valid curve point; see ParseID. Errors wrap
// ErrBadKey and never contain the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, idPrefix) {
		if !strings.HasSuffix(s, keySuffix) {
			return nil, fmt.Errorf("%w: id does not end in %s", ErrBadKey, keySuffix)
		}
		s = s[len(idPrefix) : len(s)-len(keySuffix)]
	}
	b, ok := decodeB64(s)
	if !ok {
		return nil, fmt.Errorf("%w: not base64 (%d characters)", ErrBadKey, len(s))
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: decodes to %d bytes, want 32", ErrBadKey, len(b))
	}
	return b, nil
}

// EncodeKey encodes a key as standard base64 with padding, the form the
// JavaScript implementation and Scuttlebutt ids use.
func EncodeKey(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

// FormatID formats a public key as a Scuttlebutt feed id,
// "@<base64>.ed25519".
func FormatID(pub ed25519.PublicKey) string {
	return idPrefix + EncodeKey(pub) + keySuffix
}

// ParseID parses a public key given as an id "@<base64>.ed25519" or as bare
// base64 (see ParseKey), and checks that it is a key the handshake accepts:
// a canonical encoding of a point of large prime order. Errors wrap
// ErrBadKey.
func ParseID(s string) (ed25519.PublicKey, error) {
	b, err := ParseKey(s)
	if err != nil {
		return nil, err
	}
	if !shake.ValidPublicKey(b) {
		return nil, fmt.Errorf("%w: not a valid ed25519 public key (small order or non-canonical)", ErrBadKey)
	}
	return ed25519.PublicKey(b), nil
}

// secretFile is the JSON layout of a Scuttlebutt secret file, field order
// as ssb-keys writes it.
type secretFile struct {
	Curve   string `json:"curve"`
	Public  string `json:"public"`
	Private string `json:"private"`
	ID      string `json:"id"`
}

// stripComments drops the lines starting with '#' that ssb-keys writes
// around the JSON.
func stripComments(data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if t := bytes.TrimLeft(line, " \t\r"); len(t) > 0 && t[0] == '#' {
			continue
		}
		out = append(out, line...)
	}
	return out
}

// decodeTagged decodes "<base64>.ed25519" into exactly n bytes.
func decodeTagged(s string, n int, what string) ([]byte, error) {
	if !strings.HasSuffix(s, keySuffix) {
		return nil, fmt.Errorf("%w: secret file: %s key does not end in %s", ErrBadKey, what, keySuffix)
	}
	b, ok := decodeB64(strings.TrimSuffix(s, keySuffix))
	if !ok {
		return nil, fmt.Errorf("%w: secret file: %s key is not base64", ErrBadKey, what)
	}
	if len(b) != n {
		return nil, fmt.Errorf("%w: secret file: %s key decodes to %d bytes, want %d", ErrBadKey, what, len(b), n)
	}
	return b, nil
}

// ParseSecret parses a Scuttlebutt secret file (what ssb-keys writes to
// ~/.ssb/secret): JSON with "curve": "ed25519", "public" and "private" as
// "<base64>.ed25519" and an optional "id" "@<public>.ed25519", possibly
// surrounded by '#' comment lines. It checks that the public key and the id
// belong to the private key. Errors wrap ErrBadKey and contain no key
// material.
func ParseSecret(data []byte) (ed25519.PrivateKey, error) {
	var f secretFile
	if err := json.Unmarshal(stripComments(data), &f); err != nil {
		// The JSON error may quote input bytes: report its kind only.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: secret file is not valid JSON (at byte %d of the JSON part)", ErrBadKey, se.Offset)
		}
		return nil, fmt.Errorf("%w: secret file is not a JSON object with string fields", ErrBadKey)
	}
	if f.Curve != "ed25519" {
		return nil, fmt.Errorf("%w: secret file: curve must be \"ed25519\"", ErrBadKey)
	}
	priv, err := decodeTagged(f.Private, ed25519.PrivateKeySize, "private")
	if err != nil {
		return nil, err
	}
	want := ed25519.NewKeyFromSeed(priv[:ed25519.SeedSize])
	if subtle.ConstantTimeCompare(want, priv) != 1 {
		return nil, fmt.Errorf("%w: secret file: the private key's two halves do not belong together", ErrBadKey)
	}
	if f.Public != "" {
		pub, err := decodeTagged(f.Public, ed25519.PublicKeySize, "public")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pub, want[32:]) {
			return nil, fmt.Errorf("%w: secret file: public key does not match the private key", ErrBadKey)
		}
	}
	if f.ID != "" {
		pub, err := ParseKey(f.ID)
		if err != nil || !strings.HasPrefix(f.ID, idPrefix) || !bytes.Equal(pub, want[32:]) {
			return nil, fmt.Errorf("%w: secret file: id does not match the private key", ErrBadKey)
		}
	}
	return want, nil
}

// MarshalSecret returns priv as a Scuttlebutt secret file: the JSON object
// ssb-keys writes (curve, public, private, id; two-space indent) followed by
// a newline, without the comment lines. It panics if priv is not 64 bytes,
// like the ed25519 package does for bad key lengths.
func MarshalSecret(priv ed25519.PrivateKey) []byte {
	if len(priv) != ed25519.PrivateKeySize {
		panic("shs: MarshalSecret: bad private key length")
	}
	pub := ed25519.PublicKey(priv[32:])
	f := secretFile{
		Curve:   "ed25519",
		Public:  EncodeKey(pub) + keySuffix,
		Private: EncodeKey(priv) + keySuffix,
		ID:      FormatID(pub),
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic("shs: MarshalSecret: " + err.Error()) // cannot happen: plain strings
	}
	return append(b, '\n')
}

// ReadSecretFile reads and parses a Scuttlebutt secret file (see
// ParseSecret).
func ReadSecretFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	priv, err := ParseSecret(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return priv, nil
}

// WriteSecretFile creates path with mode 0600 and writes priv to it in the
// layout of MarshalSecret. It never overwrites: if path exists the error
// wraps fs.ErrExist. On a write error the partial file is removed.
func WriteSecretFile(path string, priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key must be %d bytes, got %d", ErrBadKey, ed25519.PrivateKeySize, len(priv))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err // an *fs.PathError; errors.Is(err, fs.ErrExist) if present
	}
	_, err = f.Write(MarshalSecret(priv))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("shs: writing secret file: %w", err)
	}
	return nil
}
