package shs_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// testKey is a fixed identity so the expected strings below are stable.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))

func testPub() ed25519.PublicKey { return testKey.Public().(ed25519.PublicKey) }

func TestParseKey(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(0xf0 + i%16) // base64 with + and / in it
	}
	std := base64.StdEncoding.EncodeToString(raw)
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("test key %q has no + or /", std)
	}
	url := base64.URLEncoding.EncodeToString(raw)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"std padded", std, true},
		{"std unpadded", strings.TrimRight(std, "="), true},
		{"url padded", url, true},
		{"url unpadded", strings.TrimRight(url, "="), true},
		{"id", "@" + std + ".ed25519", true},
		{"id unpadded url", "@" + strings.TrimRight(url, "=") + ".ed25519", true},
		{"main net key", "1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=", true},
		{"empty", "", false},
		{"short", base64.StdEncoding.EncodeToString(raw[:31]), false},
		{"long", base64.StdEncoding.EncodeToString(append(raw, 1)), false},
		{"mixed alphabets", "-" + std[1:], false},
		{"space", std[:10] + " " + std[10:], false},
		{"trailing newline", std + "\n", true},
		{"surrounding blanks", " \t" + std + " ", true},
		{"star", std[:10] + "*" + std[11:], false},
		{"id without suffix", "@" + std, false},
		{"id wrong suffix", "@" + std + ".sha256", false},
		{"hex", strings.Repeat("ab", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shs.ParseKey(tt.in)
			if !tt.ok {
				if !errors.Is(err, shs.ErrBadKey) {
					t.Fatalf("ParseKey error = %v, want ErrBadKey", err)
				}
				if len(tt.in) > 8 && strings.Contains(err.Error(), tt.in[:8]) {
					t.Fatalf("error %q echoes the input", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "main net key" {
				if !bytes.Equal(got, shs.MainNetKey[:]) {
					t.Fatalf("main net key decodes to %x", got)
				}
				return
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("got %x, want %x", got, raw)
			}
			if e := shs.EncodeKey(got); e != std {
				t.Fatalf("EncodeKey = %q, want %q", e, std)
			}
		})
	}
}

func TestFormatParseID(t *testing.T) {
	pub := testPub()
	id := shs.FormatID(pub)
	if !strings.HasPrefix(id, "@") || !strings.HasSuffix(id, "=.ed25519") {
		t.Fatalf("FormatID = %q", id)
	}
	for _, in := range []string{id, id[1 : len(id)-len(".ed25519")]} {
		got, err := shs.ParseID(in)
		if err != nil {
			t.Fatalf("ParseID(%q): %v", in, err)
		}
		if !bytes.Equal(got, pub) {
			t.Fatalf("ParseID(%q) = %x", in, got)
		}
	}
	identity := make([]byte, 32)
	identity[0] = 1
	bad := map[string][]byte{
		"identity point": identity,
		"all zero":       make([]byte, 32),
		// y = 2 does not decode to a curve point... any failure must wrap ErrBadKey.
		"not on curve": append([]byte{2}, make([]byte, 31)...),
		// Non-canonical: y = p (encodes 0) is 0xed ff .. 7f.
		"non-canonical": append(append([]byte{0xed}, bytes.Repeat([]byte{0xff}, 30)...), 0x7f),
	}
	for name, k := range bad {
		if _, err := shs.ParseID(shs.FormatID(k)); !errors.Is(err, shs.ErrBadKey) {
			t.Errorf("%s: ParseID error = %v, want ErrBadKey", name, err)
		}
	}
}

func TestSecretRoundTrip(t *testing.T) {
	b := shs.MarshalSecret(testKey)
	if !bytes.HasSuffix(b, []byte("}\n")) {
		t.Fatalf("MarshalSecret output does not end in }\\n: %q", b)
	}
	for _, field := range []string{`"curve": "ed25519"`, `"public": "`, `"private": "`, `"id": "@`} {
		if !bytes.Contains(b, []byte(field)) {
			t.Fatalf("MarshalSecret output lacks %s:\n%s", field, b)
		}
	}
	got, err := shs.ParseSecret(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, testKey) {
		t.Fatal("round trip changed the key")
	}
}

// ssbKeysFile is what ssb-keys writes: comments around the JSON.
func ssbKeysFile(json string) string {
	return "# WARNING: Never show this to anyone.\n# WARNING: Never edit it or use it on multiple devices at once.\n#\n" +
		json + "\n#\n# The only part of this file that's safe to share is your public name:\n#\n#   @x.ed25519\n"
}

func TestParseSecret(t *testing.T) {
	pub := testPub()
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	privB64 := base64.StdEncoding.EncodeToString(testKey)
	pubB64 := base64.StdEncoding.EncodeToString(pub)
	mk := func(curve, public, private, id string) string {
		return `{"curve":"` + curve + `","public":"` + public + `","private":"` + private + `","id":"` + id + `"}`
	}
	good := mk("ed25519", pubB64+".ed25519", privB64+".ed25519", "@"+pubB64+".ed25519")
	// A private key whose public half is another key's.
	mixed := append(append([]byte{}, testKey[:32]...), other[32:]...)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"plain", good, true},
		{"ssb-keys comments", ssbKeysFile(good), true},
		{"indented comments", "  # hi\n" + good, true},
		{"no id", `{"curve":"ed25519","public":"` + pubB64 + `.ed25519","private":"` + privB64 + `.ed25519"}`, true},
		{"unpadded url", mk("ed25519", pubB64+".ed25519", strings.TrimRight(base64.URLEncoding.EncodeToString(testKey), "=")+".ed25519", "@"+pubB64+".ed25519"), true},
		{"empty", "", false},
		{"only comments", "# a\n# b\n", false},
		{"not json", "hello", false},
		{"array", "[1,2]", false},
		{"wrong curve", mk("k256", pubB64+".ed25519", privB64+".ed25519", ""), false},
		{"no suffix", mk("ed25519", pubB64+".ed25519", privB64, ""), false},
		{"short private", mk("ed25519", pubB64+".ed25519", pubB64+".ed25519", ""), false},
		{"other public", mk("ed25519", base64.StdEncoding.EncodeToString(other[32:])+".ed25519", privB64+".ed25519", ""), false},
		{"other id", mk("ed25519", pubB64+".ed25519", privB64+".ed25519", "@"+base64.StdEncoding.EncodeToString(other[32:])+".ed25519"), false},
		{"id without @", mk("ed25519", pubB64+".ed25519", privB64+".ed25519", pubB64+".ed25519"), false},
		{"halves mismatch", mk("ed25519", pubB64+".ed25519", base64.StdEncoding.EncodeToString(mixed)+".ed25519", ""), false},
		{"number field", `{"curve":"ed25519","private":5}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shs.ParseSecret([]byte(tt.in))
			if !tt.ok {
				if !errors.Is(err, shs.ErrBadKey) {
					t.Fatalf("error = %v, want ErrBadKey", err)
				}
				for _, secret := range []string{privB64[:12], base64.StdEncoding.EncodeToString(testKey[:9])} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q leaks key material", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, testKey) {
				t.Fatal("wrong key")
			}
		})
	}
}

func TestSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := shs.WriteSecretFile(path, testKey); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		t.Fatalf("mode %v, want 0600", m)
	}
	got, err := shs.ReadSecretFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, testKey) {
		t.Fatal("wrong key read back")
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	if err := shs.WriteSecretFile(path, other); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("overwrite: error = %v, want fs.ErrExist", err)
	}
	if got, _ := shs.ReadSecretFile(path); !bytes.Equal(got, testKey) {
		t.Fatal("refused overwrite changed the file")
	}
	if _, err := shs.ReadSecretFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: error = %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("{}"), 0o600)
	if _, err := shs.ReadSecretFile(bad); !errors.Is(err, shs.ErrBadKey) {
		t.Fatalf("bad file: error = %v, want ErrBadKey", err)
	}
	if err := shs.WriteSecretFile(filepath.Join(t.TempDir(), "x"), testKey[:32]); !errors.Is(err, shs.ErrBadKey) {
		t.Fatalf("short key: error = %v, want ErrBadKey", err)
	}
}

func FuzzParseSecret(f *testing.F) {
	f.Add(shs.MarshalSecret(testKey))
	f.Add([]byte(ssbKeysFile(string(shs.MarshalSecret(testKey)))))
	f.Add([]byte(`{"curve":"ed25519"}`))
	f.Add([]byte("#\n#"))
	f.Fuzz(func(t *testing.T, data []byte) {
		priv, err := shs.ParseSecret(data)
		if err != nil {
			if !errors.Is(err, shs.ErrBadKey) {
				t.Fatalf("error %v does not wrap ErrBadKey", err)
			}
			return
		}
		if len(priv) != ed25519.PrivateKeySize || !bytes.Equal(ed25519.NewKeyFromSeed(priv.Seed()), priv) {
			t.Fatal("accepted an inconsistent key")
		}
		again, err := shs.ParseSecret(shs.MarshalSecret(priv))
		if err != nil || !bytes.Equal(again, priv) {
			t.Fatalf("re-marshalled key does not parse back: %v", err)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=")
	f.Add("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan_s")
	f.Add(shs.FormatID(testPub()))
	f.Add("@.ed25519")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := shs.ParseKey(s)
		if err != nil {
			if !errors.Is(err, shs.ErrBadKey) {
				t.Fatalf("error %v does not wrap ErrBadKey", err)
			}
			return
		}
		if len(k) != 32 {
			t.Fatalf("key of %d bytes", len(k))
		}
		k2, err := shs.ParseKey(shs.EncodeKey(k))
		if err != nil || !bytes.Equal(k, k2) {
			t.Fatalf("canonical form does not round-trip: %v", err)
		}
		if pub, err := shs.ParseID(s); err == nil && !bytes.Equal(pub, k) {
			t.Fatal("ParseID and ParseKey disagree")
		}
	})
}
