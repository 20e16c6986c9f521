package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestKeygenMakesSSBDir: the README's first line, 'ms keygen --out
// ~/.ssb/secret', works on a machine without ~/.ssb and makes it 0700.
func TestKeygenMakesSSBDir(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	out := filepath.Join(home, ".ssb", "secret")
	code, _, stderr := runMS(t, nil, "keygen", "--out", out)
	if code != 0 {
		t.Fatalf("keygen: exit %d, stderr %q", code, stderr)
	}
	fi, err := os.Stat(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("%s has mode %04o, want 0700", filepath.Dir(out), fi.Mode().Perm())
	}
	if !strings.Contains(stderr, "created "+filepath.Dir(out)) {
		t.Errorf("stderr %q does not say the directory was made", stderr)
	}
}

// TestSecretReadableByOthers: like ssh, a secret file other users can
// read is refused unless --insecure-secret, which warns.
func TestSecretReadableByOthers(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	secret, _ := secretFile(t, 1)
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"id", "--secret", secret},
		{"dial", "--secret", secret, "net:127.0.0.1:1~shs:" + strings.Repeat("A", 43) + "="},
		{"listen", "--secret", secret, "net:127.0.0.1:0~shs"},
	} {
		code, stdout, stderr := runMS(t, nil, args...)
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, "mode 0644: other users can read it") || !strings.Contains(stderr, "--insecure-secret") {
			t.Errorf("ms %s: exit %d, stdout %q, stderr %q; want 1 and a refusal naming chmod and --insecure-secret", args[0], code, stdout, stderr)
		}
	}
	code, stdout, stderr := runMS(t, nil, "id", "--insecure-secret", "--secret", secret)
	if code != 0 || stdout == "" || !strings.Contains(stderr, "warning: secret file") {
		t.Errorf("id --insecure-secret: exit %d, stdout %q, stderr %q; want 0, the id and a warning", code, stdout, stderr)
	}
}
