package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// testKey is a valid ed25519 public key in base64.
var testKey = shs.EncodeKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey))

func TestAddrText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{
			"net and ws with shs",
			"net:127.0.0.1:8008~shs:" + testKey + ";ws://127.0.0.1:8989~shs:" + testKey,
			"alternative 1 (net~shs): net:127.0.0.1:8008~shs:" + testKey + "\n" +
				"  net host \"127.0.0.1\" port 8008\n" +
				"  shs server key @" + testKey + ".ed25519\n" +
				"alternative 2 (ws~shs): ws://127.0.0.1:8989~shs:" + testKey + "\n" +
				"  ws url \"ws://127.0.0.1:8989\"\n" +
				"  shs server key @" + testKey + ".ed25519\n",
		},
		{
			// What the stack understands, not the raw ':'-split fields.
			"IPv6 and ws",
			"net:::1:8008;ws://h:2",
			"alternative 1 (net): net:::1:8008\n" +
				"  net host \"::1\" port 8008\n" +
				"alternative 2 (ws): ws://h:2\n" +
				"  ws url \"ws://h:2\"\n",
		},
		{
			"escapes and canonical form",
			"net:Example.COM:0080;unix:/tmp/a!~b:c~noauth",
			"alternative 1 (net): net:Example.COM:0080\n" +
				"  canonical: net:Example.COM:80\n" +
				"  net host \"Example.COM\" port 80\n" +
				"alternative 2 (unix~noauth): unix:/tmp/a!~b:c~noauth\n" +
				"  unix path \"/tmp/a~b:c\"\n" +
				"  noauth\n",
		},
		{
			"unknown stack next to a known one",
			"carrier:pigeon~shs:" + testKey + ";net:h:1",
			"alternative 1 (carrier~shs): carrier:pigeon~shs:" + testKey + "\n" +
				"  carrier \"pigeon\"\n" +
				"  shs server key @" + testKey + ".ed25519\n" +
				"  (not checked: a section unknown to ms)\n" +
				"alternative 2 (net): net:h:1\n" +
				"  net host \"h\" port 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMS(t, nil, "addr", tt.in)
			if code != 0 || stdout != tt.want || stderr != "" {
				t.Errorf("ms addr %q: exit %d, stderr %q, stdout\n%s\nwant\n%s", tt.in, code, stderr, stdout, tt.want)
			}
		})
	}
}

func TestAddrJSON(t *testing.T) {
	t.Parallel()
	in := "net:127.0.0.1:8008~shs:" + testKey + ";unix:/run/x.sock~noauth"
	code, stdout, stderr := runMS(t, nil, "addr", "--json", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got addrJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	id := "@" + testKey + ".ed25519"
	want := addrJSON{Address: in, Alternatives: []altJSON{
		{Address: "net:127.0.0.1:8008~shs:" + testKey, Stack: "net~shs", Canonical: "net:127.0.0.1:8008~shs:" + testKey, Checked: true,
			Sections: []sectionJSON{{Name: "net", Args: []string{"127.0.0.1", "8008"}, Meaning: `host "127.0.0.1" port 8008`}, {Name: "shs", Args: []string{testKey}, ID: id, Meaning: "server key " + id}}},
		{Address: "unix:/run/x.sock~noauth", Stack: "unix~noauth", Canonical: "unix:/run/x.sock~noauth", Checked: true,
			Sections: []sectionJSON{{Name: "unix", Args: []string{"/run/x.sock"}, Meaning: `path "/run/x.sock"`}, {Name: "noauth", Args: []string{}}}},
	}}
	gotB, _ := json.Marshal(got)
	wantB, _ := json.Marshal(want)
	if string(gotB) != string(wantB) {
		t.Errorf("got  %s\nwant %s", gotB, wantB)
	}
	// --syntax accepts a listen address that a dial check refuses.
	if code, _, stderr := runMS(t, nil, "addr", "--json", "--syntax", "net:127.0.0.1:0~shs"); code != 0 {
		t.Errorf("--syntax on a listen address: exit %d: %s", code, stderr)
	}
}

func TestAddrErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		offset int
		msg    string
	}{
		{"empty", "", 0, "empty address"},
		{"capital name", "Net:h:1", 0, "section name must start with a lowercase letter"},
		{"trailing tilde", "net:h:1~", 7, "trailing '~'"},
		{"empty alternative", "net:h:1;;ws://h", 8, "empty section"},
		{"bad escape", "net:h!x:1", 5, "'!' may escape only"},
		{"bad port", "net:127.0.0.1:1~noauth;net:h:99999~noauth", 29, "alternative 2 (net~noauth), transport \"net\" at byte 29"},
		{"bad shs key", "net:h:1~shs:AAAA", 8, "alternative 1 (net~shs), transform \"shs\" at byte 8"},
		{"listen form without --syntax", "net:h:1~shs", 8, "transform \"shs\" at byte 8: multiserver: invalid address section: shs takes a key"},
		{"listen form points to --syntax", "net:h:1~shs", 8, "check with ms addr --syntax"},
		{"'-' for '~'", "net:h:8008-shs:" + testKey, 10, "port \"" + testKey + "\" out of range; sections of one alternative are joined with '~'"},
		{"port out of range at the port", "net:h:99999~noauth", 6, "port 99999 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMS(t, nil, "addr", tt.in)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if code != 2 || stdout != "" || len(lines) != 3 {
				t.Fatalf("exit %d, stdout %q, stderr\n%s\nwant exit 2, no stdout, three lines on stderr", code, stdout, stderr)
			}
			if !strings.HasPrefix(lines[0], "ms addr: ") || !strings.Contains(lines[0], tt.msg) {
				t.Errorf("message %q does not say %q", lines[0], tt.msg)
			}
			if lines[1] != "  "+tt.in {
				t.Errorf("second line %q, want the input", lines[1])
			}
			if col := strings.Index(lines[2], "^"); col != 2+tt.offset {
				t.Errorf("caret at column %d, want %d (byte %d)\n%s\n%s", col, 2+tt.offset, tt.offset, lines[1], lines[2])
			}
		})
	}
	// An address ms dial refuses (no stack ms knows) is not fine for ms addr.
	for _, in := range []string{"tcp:127.0.0.1:8008", "carrier:pigeon~shs:" + testKey} {
		code, stdout, stderr := runMS(t, nil, "addr", in)
		if code != 2 || !strings.Contains(stdout, "not checked") || !strings.Contains(stderr, "no alternative uses a stack ms knows") {
			t.Errorf("ms addr %s: exit %d, stdout %q, stderr %q; want 2 and why", in, code, stdout, stderr)
		}
	}
	if _, _, stderr := runMS(t, nil, "addr", "tcp:h:1"); !strings.Contains(stderr, "called net") {
		t.Errorf("tcp: no hint that the transport is called net: %q", stderr)
	}
	if code, _, _ := runMS(t, nil, "addr"); code != 2 {
		t.Errorf("addr without argument: exit %d, want 2", code)
	}
}

// FuzzOffsets checks what describe relies on: a parsed address formats
// back to its input, so offsets locate each section in the input.
func FuzzOffsets(f *testing.F) {
	for _, s := range []string{
		"net:127.0.0.1:8008~shs:" + testKey,
		"ws://h:1/p?q~shs:K;unix:/a!~b!!c!:d~noauth",
		"net:::1:8008;net:h!;x:1",
		"a1-b::~c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := msaddr.Parse(in)
		if err != nil {
			return
		}
		if m.String() != in {
			t.Fatalf("%q formats as %q", in, m.String())
		}
		offs := offsets(m)
		for i, a := range m {
			for j, s := range a {
				o := offs[i][j]
				if got := in[o : o+len(s.String())]; got != s.String() {
					t.Fatalf("alternative %d section %d at %d: input has %q, section is %q", i, j, o, got, s.String())
				}
			}
		}
		if _, perr := describe(in, true); perr != nil {
			t.Fatalf("describe --syntax refused %q: %v", in, perr.err)
		}
	})
}

// TestAddrSeed checks that ms addr never prints an invite seed: not in its
// text or JSON output, and not in the input it echoes above the caret.
func TestAddrSeed(t *testing.T) {
	t.Parallel()
	seed := shs.EncodeKey(bytes.Repeat([]byte{0x5e}, 32))
	stars := strings.Repeat("*", len(seed))
	good := "net:127.0.0.1:8008~shs:" + testKey + ":" + seed
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"text", []string{"addr", good}, 0, "shs server key @" + testKey + ".ed25519 and an invite seed (*)\n"},
		{"json", []string{"addr", "--json", good}, 0, `"address": "net:127.0.0.1:8008~shs:` + testKey + `:` + stars + `"`},
		{"syntax error after the seed", []string{"addr", good + "~~"}, 2, "~shs:" + testKey + ":" + stars + "~~\n"},
		{"bad seed", []string{"addr", "net:127.0.0.1:8008~shs:" + testKey + ":" + seed[:40]}, 2, ":" + strings.Repeat("*", 40) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMS(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("ms %q: exit %d (want %d), stdout\n%s\nstderr\n%s\nwant %q", tt.args, code, tt.code, stdout, stderr, tt.want)
			}
			if strings.Contains(stdout+stderr, seed[:40]) {
				t.Errorf("ms %q printed the seed:\n%s%s", tt.args, stdout, stderr)
			}
		})
	}
}
