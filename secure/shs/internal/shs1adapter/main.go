// Command shs1adapter lets the shs1 conformance harness (npm shs1-test,
// spec §10) drive this module's handshake over stdin and stdout. It runs
// the same code as shs.Conn's handshake (package shake).
//
// Server role, three arguments (the harness's test-server.js):
//
//	shs1adapter <app key hex> <server secret key hex, 64 bytes> <server public key hex>
//
// Client role, two arguments (test-client.js):
//
//	shs1adapter <app key hex> <server public key hex>
//
// After a successful handshake it writes the 112-byte outcome (encryption
// key and nonce, then decryption key and nonce, from its own side) and
// waits for stdin to close. On any failure it writes nothing more and exits
// with status 1; bad arguments exit with status 2.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/go-multiserver/multiserver/secure/shs/internal/shake"
)

type stdio struct {
	io.Reader
	io.Writer
}

func main() {
	args := os.Args[1:]
	if len(args) != 2 && len(args) != 3 {
		usage("want 2 (client) or 3 (server) arguments")
	}
	appKey := decodeHex(args[0], 32, "app key")
	var k [32]byte
	copy(k[:], appKey)
	rw := stdio{os.Stdin, os.Stdout}
	var keys shake.Keys
	var err error
	if len(args) == 3 {
		priv := ed25519.PrivateKey(decodeHex(args[1], 64, "server secret key"))
		decodeHex(args[2], 32, "server public key") // checked by NewLongTerm
		lt, lerr := shake.NewLongTerm(priv)
		if lerr != nil {
			usage(lerr.Error())
		}
		st, serr := shake.NewState(&k, lt, nil)
		if serr != nil {
			fail(serr)
		}
		keys, err = shake.Server(context.Background(), rw, st, nil)
	} else {
		serverPub := ed25519.PublicKey(decodeHex(args[1], 32, "server public key"))
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			fail(gerr)
		}
		lt, lerr := shake.NewLongTerm(priv)
		if lerr != nil {
			fail(lerr)
		}
		st, serr := shake.NewState(&k, lt, serverPub)
		if serr != nil {
			fail(serr)
		}
		keys, err = shake.Client(rw, st)
	}
	if err != nil {
		fail(err)
	}
	if _, err := os.Stdout.Write(keys.Outcome()); err != nil {
		fail(err)
	}
	// The harness judges the outcome and then kills us; exiting first
	// would be reported as closing on a well-behaved peer.
	io.Copy(io.Discard, os.Stdin)
}

func decodeHex(s string, n int, what string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		usage(fmt.Sprintf("%s must be %d bytes of hex", what, n))
	}
	return b
}

func usage(msg string) {
	fmt.Fprintln(os.Stderr, "shs1adapter:", msg)
	fmt.Fprintln(os.Stderr, "usage: shs1adapter APPKEY SERVER_SK SERVER_PK (server) | shs1adapter APPKEY SERVER_PK (client)")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "shs1adapter:", err)
	os.Exit(1)
}
