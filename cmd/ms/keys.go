package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

var keygenCmd = &command{
	name:    "keygen",
	summary: "make a Scuttlebutt secret (ed25519 key pair)",
	detail: `Make a new ed25519 key pair and write it as a Scuttlebutt secret file (the
JSON ssb-keys writes to ~/.ssb/secret): to FILE with mode 0600 when --out is
given (an existing file is never overwritten), else to stdout. The id
@<base64>.ed25519 of the new key goes to stderr.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		out := fs.String("out", "", "write the secret to `FILE` (mode 0600, must not exist) instead of stdout")
		seed := fs.String("seed", "", "make the key from this 32-byte seed, given as 64 hex digits (`HEX64`), instead of at random: the same seed gives the same key")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 0 {
				e.errorf("unexpected arguments %q", args)
				return exitUsage
			}
			return runKeygen(e, *out, *seed)
		}
	},
}

func runKeygen(e *env, out, seedHex string) int {
	var priv ed25519.PrivateKey
	if seedHex != "" {
		seed, err := hex.DecodeString(seedHex)
		if err != nil || len(seed) != ed25519.SeedSize {
			e.errorf("--seed must be %d hex digits (%d bytes)", 2*ed25519.SeedSize, ed25519.SeedSize)
			return exitUsage
		}
		priv = ed25519.NewKeyFromSeed(seed)
	} else {
		var err error
		if _, priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
			e.errorf("%v", err)
			return exitFailure
		}
	}
	if out == "" {
		if _, err := e.stdout.Write(shs.MarshalSecret(priv)); err != nil {
			e.errorf("%v", err)
			return exitFailure
		}
	} else if err := makeParent(e, out); err != nil {
		e.errorf("%v", err)
		return exitFailure
	} else if err := shs.WriteSecretFile(out, priv); err != nil {
		if errors.Is(err, fs.ErrExist) {
			e.errorf("%s exists; refusing to overwrite a secret", out)
		} else {
			e.errorf("%v", err)
		}
		return exitFailure
	}
	e.raw(shs.FormatID(priv.Public().(ed25519.PublicKey)) + "\n")
	return exitOK
}

// makeParent creates the missing directories above path with mode 0700,
// as ssb-keys does for ~/.ssb, and says so.
func makeParent(e *env, path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return nil // there, or an error WriteSecretFile reports better
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	e.infof("created %s (mode 0700)", dir)
	return nil
}

// readSecret reads a secret file and, like ssh with a private key, refuses
// one that other users can read or write unless insecure is set (then it
// warns through warn).
func readSecret(path string, insecure bool, warn func(string)) (ed25519.PrivateKey, error) {
	priv, err := shs.ReadSecretFile(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS == "windows" {
		return priv, nil // no mode bits to check
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		msg := fmt.Sprintf("secret file %s has mode %04o: other users can read it", path, perm)
		if !insecure {
			return nil, fmt.Errorf("%s; run chmod 600 %s, or pass --insecure-secret to use it anyway", msg, path)
		}
		warn("warning: " + msg)
	}
	return priv, nil
}

var idCmd = &command{
	name:    "id",
	summary: "print the id and public key of a secret",
	detail: `Print two lines: the Scuttlebutt id @<base64>.ed25519 of the secret, and its
public key as bare base64 (the form shs address sections use).`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		secret := fs.String("secret", "", "the Scuttlebutt secret `FILE` (default $HOME/.ssb/secret)")
		insecure := fs.Bool("insecure-secret", false, "use a secret file other users can read (warn instead of refusing)")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 0 {
				e.errorf("unexpected arguments %q", args)
				return exitUsage
			}
			path := *secret
			if path == "" {
				path = defaultSecretPath()
				if path == "" {
					e.errorf("no --secret given and no $HOME/.ssb/secret")
					return exitFailure
				}
			}
			priv, err := readSecret(path, *insecure, func(s string) { e.errorf("%s", s) })
			if err != nil {
				e.errorf("%v", err)
				return exitFailure
			}
			pub := priv.Public().(ed25519.PublicKey)
			fmt.Fprintf(e.stdout, "%s\n%s\n", shs.FormatID(pub), shs.EncodeKey(pub))
			return exitOK
		}
	},
}

// defaultSecretPath returns $HOME/.ssb/secret if it exists, else "".
func defaultSecretPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	p := filepath.Join(home, ".ssb", "secret")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// keyFlags are the flags listen and dial share.
type keyFlags struct {
	secret   string
	appKey   string
	insecure bool
	warn     func(string) // where load's warnings go
}

func (k *keyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.secret, "secret", "", "the Scuttlebutt secret `FILE` with this peer's shs identity (default $HOME/.ssb/secret if it exists, else a fresh key for this run)")
	fs.BoolVar(&k.insecure, "insecure-secret", false, "use a secret file other users can read (warn instead of refusing)")
	fs.StringVar(&k.appKey, "app-key", "", "the shs network key, 32 bytes in `BASE64` (default: the Scuttlebutt main network key)")
}

// identity is what the key flags resolve to.
type identity struct {
	priv   ed25519.PrivateKey
	appKey []byte // nil: the main network key
	fresh  bool   // no secret file: priv was made for this run
}

// note says, for stderr, that the identity is a fresh one.
func (id *identity) note() string {
	return "no --secret and no $HOME/.ssb/secret: using a fresh key for this run, " + shs.FormatID(id.priv.Public().(ed25519.PublicKey))
}

// load returns the identity and app key the flags name, making a fresh
// identity when there is no secret file.
func (k *keyFlags) load() (*identity, error) {
	id := &identity{}
	var err error
	if k.appKey != "" {
		if id.appKey, err = shs.ParseKey(k.appKey); err != nil {
			return nil, usageError{fmt.Errorf("--app-key: %w", err)}
		}
	}
	path := k.secret
	if path == "" {
		path = defaultSecretPath()
	}
	if path != "" {
		warn := k.warn
		if warn == nil {
			warn = func(string) {}
		}
		if id.priv, err = readSecret(path, k.insecure, warn); err != nil {
			return nil, err
		}
		return id, nil
	}
	if _, id.priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	id.fresh = true
	return id, nil
}

// usesShs reports whether an alternative of addrs has an shs section, so
// that the identity matters. A bad address reports true; the error shows
// later.
func usesShs(addrs string) bool {
	m, err := msaddr.Parse(addrs)
	if err != nil {
		return true
	}
	for _, a := range m {
		if hasSection(a, "shs") || dnsaddr.IsDNS(a) { // what dns: gives is not known yet
			return true
		}
	}
	return false
}

// sectionID returns the @id of the key in an shs section, or "".
func sectionID(s msaddr.Section) string {
	if s.Name != "shs" || len(s.Args) == 0 {
		return ""
	}
	k, err := shs.ParseKey(s.Args[0])
	if err != nil {
		return ""
	}
	return shs.FormatID(k)
}

// idOf formats the remote key of a conn, or says there is none.
func idOf(k ed25519.PublicKey) string {
	if k == nil {
		return "none (not authenticated)"
	}
	return shs.FormatID(k)
}
