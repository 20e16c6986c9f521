package main

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/secure/shs"
)

func TestKeygenID(t *testing.T) {
	t.Parallel()
	want := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	wantPub := want.Public().(ed25519.PublicKey)
	wantID := shs.FormatID(wantPub)
	out := filepath.Join(t.TempDir(), "secret")

	code, stdout, stderr := runMS(t, nil, "keygen", "--seed", seedHex(7), "--out", out)
	if code != 0 || stdout != "" || stderr != wantID+"\n" {
		t.Fatalf("keygen --out: exit %d, stdout %q, stderr %q; want 0, nothing, %q", code, stdout, stderr, wantID+"\n")
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := shs.ParseSecret(written)
	if err != nil || !got.Equal(want) {
		t.Fatalf("secret file holds another key (err %v)", err)
	}

	code, stdout, stderr = runMS(t, nil, "id", "--secret", out)
	if wantOut := wantID + "\n" + shs.EncodeKey(wantPub) + "\n"; code != 0 || stdout != wantOut || stderr != "" {
		t.Errorf("id: exit %d, stdout %q, stderr %q; want 0, %q, nothing", code, stdout, stderr, wantOut)
	}

	// Never overwrite, even with the same key.
	code, _, stderr = runMS(t, nil, "keygen", "--seed", seedHex(8), "--out", out)
	if code != 1 || !strings.Contains(stderr, "refusing to overwrite") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("keygen over an existing file: exit %d, stderr %q; want 1 and one line saying it refuses", code, stderr)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, written) {
		t.Error("keygen changed an existing secret file")
	}

	// --seed is deterministic; without it every key differs.
	_, a, _ := runMS(t, nil, "keygen", "--seed", seedHex(7))
	_, b, _ := runMS(t, nil, "keygen", "--seed", seedHex(7))
	if a != b || a != string(written) {
		t.Errorf("keygen --seed to stdout is not deterministic or differs from --out:\n%s\n%s", a, b)
	}
	_, r1, _ := runMS(t, nil, "keygen")
	_, r2, _ := runMS(t, nil, "keygen")
	k1, err1 := shs.ParseSecret([]byte(r1))
	k2, err2 := shs.ParseSecret([]byte(r2))
	if err1 != nil || err2 != nil || k1.Equal(k2) {
		t.Errorf("two random keygens: errors %v, %v; equal %v", err1, err2, k1.Equal(k2))
	}
}

func TestKeygenIDErrors(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte(`{"curve":"ed25519"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"short seed", []string{"keygen", "--seed", "abcd"}, 2, "--seed must be 64 hex digits"},
		{"non-hex seed", []string{"keygen", "--seed", strings.Repeat("zz", 32)}, 2, "--seed must be 64 hex digits"},
		{"keygen argument", []string{"keygen", "extra"}, 2, "unexpected arguments"},
		{"unknown flag", []string{"keygen", "--nope"}, 2, "flag provided but not defined"},
		{"id without secret", []string{"id"}, 1, "no --secret given and no $HOME/.ssb/secret"},
		{"id missing file", []string{"id", "--secret", filepath.Join(t.TempDir(), "none")}, 1, "no such file"},
		{"id bad file", []string{"id", "--secret", bad}, 1, "shs: invalid key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMS(t, nil, tt.args...)
			if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q", code, stdout, stderr, tt.code, tt.msg)
			}
		})
	}
}

// TestIDDefaultSecret checks that $HOME/.ssb/secret is the default.
func TestIDDefaultSecret(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	var home string
	for _, kv := range env {
		if h, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = h
		}
	}
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	if err := os.Mkdir(filepath.Join(home, ".ssb"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := shs.WriteSecretFile(filepath.Join(home, ".ssb", "secret"), priv); err != nil {
		t.Fatal(err)
	}
	p := startEnv(t, env, nil, "id")
	want := shs.FormatID(priv.Public().(ed25519.PublicKey))
	if code := p.wait(); code != 0 || p.firstLine() != want {
		t.Errorf("id with $HOME/.ssb/secret: exit %d, stdout %q, stderr %q; want first line %q", code, p.stdout(), p.stderr.String(), want)
	}
}
