package lan

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// keyFromSeed is the key whose ed25519 seed is sha256(name), as
// interop/lan/common.js keysFromSeed makes it.
func keyFromSeed(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(s[:])
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

type vectorFile struct {
	Generator string            `json:"generator"`
	AppKeys   map[string]string `json:"app_keys"`
	Vectors   []struct {
		Seed         string `json:"seed"`
		AppKey       string `json:"app_key"`
		Address      string `json:"address"`
		BoxPlaintext string `json:"box_plaintext"`
		SignedJSON   string `json:"signed_json"`
		Box          string `json:"box"`
		Sig          string `json:"sig"`
		Datagram     string `json:"datagram"`
		Legacy       string `json:"legacy"`
	} `json:"vectors"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectorsFromJS checks Seal, Open and the legacy datagram against the
// bytes ssb-lan 1.2.3 and ssb-keys 8.5.0 wrote (interop/lan/vectors.js).
func TestVectorsFromJS(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(vf.Vectors))
	}
	for i, v := range vf.Vectors {
		appKey, err := base64.StdEncoding.DecodeString(vf.AppKeys[v.AppKey])
		if err != nil || len(appKey) != 32 {
			t.Fatalf("vector %d: app key %q", i, v.AppKey)
		}
		priv := keyFromSeed(v.Seed)
		if got := string(boxJSON(v.Address)); got != v.BoxPlaintext {
			t.Errorf("vector %d: box JSON\n got %q\nwant %q", i, got, v.BoxPlaintext)
		}
		if got := string(signedJSON(v.Address)); got != v.SignedJSON {
			t.Errorf("vector %d: signed JSON\n got %q\nwant %q", i, got, v.SignedJSON)
		}
		m, err := msaddr.Parse(v.Address)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if m.String() != v.Address {
			t.Fatalf("vector %d: address does not round-trip: %q", i, m.String())
		}
		want := unhex(t, v.Datagram)
		if !bytes.Equal(want, append(unhex(t, v.Box), unhex(t, v.Sig)...)) {
			t.Fatalf("vector %d: datagram is not box || sig", i)
		}
		got, err := Seal(m, priv, appKey)
		if err != nil {
			t.Fatalf("vector %d: Seal: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("vector %d (%s, %q): Seal\n got %x\nwant %x", i, v.AppKey, v.Address, got, want)
		}
		p, err := Open(want, appKey)
		if err != nil {
			t.Fatalf("vector %d: Open: %v", i, err)
		}
		if !p.Verified || p.Format != Signed || !p.Key.Equal(priv.Public()) || p.Address.String() != v.Address {
			t.Errorf("vector %d: Open = %+v", i, p)
		}
		if legacy := unhex(t, v.Legacy); string(legacy) != v.Address {
			t.Errorf("vector %d: ssb-lan's legacy datagram %q is not the address", i, legacy)
		} else if p, err := ParseLegacy(legacy); err != nil || p.Verified || p.Format != Legacy || p.Address.String() != v.Address {
			t.Errorf("vector %d: ParseLegacy = %+v, %v", i, p, err)
		}
	}
}

// TestJSStringDiffersFromEncodingJSON pins the characters where
// JSON.stringify and encoding/json (even without HTML escaping) differ,
// which is why appendJSString exists.
func TestJSStringDiffersFromEncodingJSON(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"<a>&", `"<a>&"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"q\"b\\", `"q\"b\\"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"é中😀", `"é中😀"`},
	} {
		if got := string(appendJSString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode("\u2028")
	if strings.TrimSpace(buf.String()) == "\"\u2028\"" {
		t.Error("encoding/json now writes U+2028 as JavaScript does; appendJSString may be replaced")
	}
}

func testAddr(priv ed25519.PrivateKey) msaddr.Multi {
	return msaddr.MustParse("net:192.168.1.5:8008~shs:" + b64(priv.Public().(ed25519.PublicKey)))
}

// sealRaw boxes any plaintext and appends any signature, to build forged
// datagrams.
func sealRaw(pt []byte, sig []byte, appKey *[32]byte) []byte {
	return append(secretbox.Seal(nil, pt, nonce(appKey), appKey), sig...)
}

func TestOpenRefusesForgeries(t *testing.T) {
	alice, mallory := keyFromSeed("alice"), keyFromSeed("mallory")
	addr := testAddr(alice)
	good, err := Seal(addr, alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(good, nil); err != nil {
		t.Fatalf("Open(good) = %v", err)
	}
	s := addr.String()
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	otherApp := sha256.Sum256([]byte("OTHER"))
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"wrong signature", flipped, ErrSignature},
		{"signed by another key", sealRaw(boxJSON(s), ed25519.Sign(mallory, signedJSON(s)), &shs.MainNetKey), ErrSignature},
		{"signature over compact JSON", sealRaw(boxJSON(s), ed25519.Sign(alice, boxJSON(s)), &shs.MainNetKey), ErrSignature},
		{"signature over JSON with a trailing newline", sealRaw(boxJSON(s), ed25519.Sign(alice, append(signedJSON(s), '\n')), &shs.MainNetKey), ErrSignature},
		{"other app key", sealRaw(boxJSON(s), ed25519.Sign(alice, signedJSON(s)), &otherApp), ErrMalformed},
		{"two keys in the address", func() []byte {
			s2 := s + ";net:192.168.1.5:8009~shs:" + b64(mallory.Public().(ed25519.PublicKey))
			return sealRaw(boxJSON(s2), ed25519.Sign(alice, signedJSON(s2)), &shs.MainNetKey)
		}(), ErrKeyMismatch},
		{"no address field", sealRaw([]byte(`{"Address":"`+s+`"}`), ed25519.Sign(alice, signedJSON(s)), &shs.MainNetKey), ErrMalformed},
		{"address not a string", sealRaw([]byte(`{"address":1}`), make([]byte, 64), &shs.MainNetKey), ErrMalformed},
		{"not JSON", sealRaw([]byte(s), make([]byte, 64), &shs.MainNetKey), ErrMalformed},
		{"no shs key", func() []byte {
			s2 := "net:192.168.1.5:8008~noauth"
			return sealRaw(boxJSON(s2), ed25519.Sign(alice, signedJSON(s2)), &shs.MainNetKey)
		}(), ErrMalformed},
		{"garbage", bytes.Repeat([]byte{0xa5}, 200), ErrMalformed},
		{"too short", good[:79], ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"oversize", make([]byte, MaxDatagramSize+1), ErrTooLarge},
	} {
		if p, err := Open(tt.b, nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: Open = %+v, %v; want %v", tt.name, p, err, tt.want)
		}
	}
	// The JSON order of ssb-lan's reader: the last of duplicate keys wins.
	dup := sealRaw([]byte(`{"address":"x","address":`+string(appendJSString(nil, s))+`}`), ed25519.Sign(alice, signedJSON(s)), &shs.MainNetKey)
	if p, err := Open(dup, nil); err != nil || p.Address.String() != s {
		t.Errorf("duplicate address keys: Open = %+v, %v", p, err)
	}
}

func TestSealRefuses(t *testing.T) {
	alice, mallory := keyFromSeed("alice"), keyFromSeed("mallory")
	addr := testAddr(alice)
	if _, err := Seal(addr, mallory, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("Seal with another key: %v", err)
	}
	if _, err := Seal(addr, alice, make([]byte, 31)); !errors.Is(err, ErrConfig) {
		t.Errorf("Seal with a 31-byte app key: %v", err)
	}
	long := msaddr.MustParse("ws://192.168.1.5:8989/" + strings.Repeat("a", MaxDatagramSize) + "~shs:" + b64(alice.Public().(ed25519.PublicKey)))
	if _, err := Seal(long, alice, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Seal of a long address: %v", err)
	}
}

func TestParseLegacyRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    string
		want error
	}{
		{"garbage", "\xff\xfe", ErrMalformed},
		{"not an address", "hello", ErrMalformed},
		{"no key", "net:192.168.1.5:8008~noauth", ErrMalformed},
		{"bad key", "net:192.168.1.5:8008~shs:abc", ErrMalformed},
		{"oversize", "net:192.168.1.5:8008~shs:" + strings.Repeat("A", MaxDatagramSize), ErrTooLarge},
	} {
		if p, err := ParseLegacy([]byte(tt.b)); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseLegacy = %+v, %v; want %v", tt.name, p, err, tt.want)
		}
	}
}

func TestFormatText(t *testing.T) {
	for f, want := range map[Format]string{Legacy: "legacy", Signed: "ssb-lan"} {
		if b, err := f.MarshalText(); err != nil || string(b) != want || f.String() != want {
			t.Errorf("%d: %q, %v", f, b, err)
		}
	}
	if _, err := Format(9).MarshalText(); err == nil {
		t.Error("Format(9) marshals")
	}
}

// FuzzOpenBoxed boxes arbitrary plaintext under the main network key, so
// that the fuzzer reaches what follows the secretbox (the JSON, the
// address, the key, the signature), which it could not forge its way to.
func FuzzOpenBoxed(f *testing.F) {
	s := testAddr(alice).String()
	f.Add(boxJSON(s), ed25519.Sign(alice, signedJSON(s)))
	f.Add([]byte(`{"address":"net:192.168.1.5:8008~shs:"}`), make([]byte, 64))
	f.Add([]byte(`{"address":null}`), make([]byte, 64))
	f.Add([]byte(`["address"]`), make([]byte, 64))
	f.Fuzz(func(t *testing.T, pt, sig []byte) {
		if len(sig) != 64 {
			return
		}
		p, err := Open(sealRaw(pt, sig, &shs.MainNetKey), nil)
		if err != nil {
			return
		}
		if !p.Verified || p.Format != Signed || len(p.Key) != ed25519.PublicKeySize || len(p.Address) == 0 {
			t.Fatalf("Open accepted %+v", p)
		}
	})
}
