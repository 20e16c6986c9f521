package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// TestSecretsInPrintedForms dials an invite address ("shs:KEY:SEED") that
// fails, and one that does not parse, and checks that no form a logger
// may print of the error, or of an Addr holding the address, carries the
// seed.
func TestSecretsInPrintedForms(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x53}, 32)).Public().(ed25519.PublicKey)
	seedBytes := bytes.Repeat([]byte{0x5e}, 32)
	seed := shs.EncodeKey(seedBytes)
	// A port nothing listens on: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := fmt.Sprintf("net:127.0.0.1:%d~shs:%s:%s", port, shs.EncodeKey(pub), seed)

	_, dialErr := ms.Dial(context.Background(), addr)
	var de *ms.DialError
	if !errors.As(dialErr, &de) || de.Addr != addr {
		t.Fatalf("Dial = %v, want a *DialError holding the address", dialErr)
	}
	_, parseErr := ms.Dial(context.Background(), addr+"~~")
	var se *msaddr.SyntaxError
	if !errors.As(parseErr, &se) {
		t.Fatalf("Dial = %v, want a *msaddr.SyntaxError", parseErr)
	}
	a := ms.NewAddr(msaddr.MustParse(addr))
	for name, v := range map[string]any{"*DialError": dialErr, "*SyntaxError": parseErr, "*Addr": a} {
		forms := []string{fmt.Sprintf("%#v", v)}
		if name != "*Addr" { // an Addr's String is the address to dial
			for _, verb := range []string{"%v", "%+v", "%s", "%q"} {
				forms = append(forms, fmt.Sprintf(verb, v))
			}
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Errorf("json.Marshal(%s): %v", name, err)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("dial", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("dial", "v", v)
		forms = append(forms, string(j), buf.String())
		if !strings.Contains(forms[0], shs.EncodeKey(pub)) {
			t.Errorf("%s: %%#v lost the (public) server key: %s", name, forms[0])
		}
		for _, f := range forms {
			if strings.Contains(f, seed) {
				t.Errorf("%s: a printed form carries the seed: %s", name, f)
			}
		}
	}
	// The JSON of a DialError still says what failed.
	j, _ := json.Marshal(de)
	var got struct {
		Addr  string
		Errs  []string
		Error string
	}
	if err := json.Unmarshal(j, &got); err != nil || got.Error != de.Error() || len(got.Errs) != 1 || !strings.Contains(got.Addr, "127.0.0.1") {
		t.Errorf("json.Marshal(*DialError) = %s (%v)", j, err)
	}
}
