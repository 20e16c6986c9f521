package msaddr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// seed is an invite seed as it appears in "shs:KEY:SEED".
const seed = "Q2hhbmdlIG1lIQ5zZWNyZXQgc2VlZCBmb3IgdGVzdHM="

func TestRedact(t *testing.T) {
	stars := strings.Repeat("*", len(seed))
	tests := []struct{ in, want string }{
		{"net:h:1~shs:" + key, "net:h:1~shs:" + key},
		{"net:h:1~shs:" + key + ":" + seed, "net:h:1~shs:" + key + ":" + stars},
		{"net:h:1~shs:" + key + ":" + seed + ";ws://h:2~shs:" + key + ":" + seed + "~noauth",
			"net:h:1~shs:" + key + ":" + stars + ";ws://h:2~shs:" + key + ":" + stars + "~noauth"},
		{"shs:" + key + ":" + seed + ":more", "shs:" + key + ":" + stars + ":****"},
		{"shs:" + key + ":se!~ed", "shs:" + key + ":******"},     // escapes inside a seed
		{"shs:" + key + ":se!", "shs:" + key + ":***"},           // a trailing '!' (invalid)
		{"shs:" + key + ":s\x00e\xffd", "shs:" + key + ":*****"}, // invalid bytes
		{"shsx:a:b", "shsx:a:b"},
		{"net:shs:" + seed, "net:shs:" + seed}, // "shs" as an argument is not a section
		{"net:h:1~shs!:x:" + seed, "net:h:1~shs!:x:" + seed},
		{"", ""},
		{"~shs:k:s;", "~shs:k:*;"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSecretsInPrintedForms checks every form a logger may print of a
// SyntaxError and of sections: none may carry the seed.
func TestSecretsInPrintedForms(t *testing.T) {
	in := "net:h:1~shs:" + key + ":" + seed + "~~"
	_, err := Parse(in)
	se, ok := err.(*SyntaxError)
	if !ok {
		t.Fatalf("Parse(%q) = %v, want a *SyntaxError", in, err)
	}
	if se.Input != in {
		t.Fatalf("Input = %q, want the input as given", se.Input)
	}
	m := MustParse("net:h:1~shs:" + key + ":" + seed)
	// String (so %v, %s, %q, %+v) of an address is the address to dial, seed
	// and all; the structured forms are what loggers print unasked.
	values := map[string]any{"*SyntaxError": se, "Multi": m, "Address": m[0], "Section": m[0][1]}
	for name, v := range values {
		forms := printedForms(t, v)
		if name != "*SyntaxError" {
			forms = forms[4:]
		}
		for _, form := range forms {
			if strings.Contains(form, seed) {
				t.Errorf("%s: a printed form carries the seed: %s", name, form)
			}
		}
	}
	// The redacted forms still say what they are about.
	if got := fmt.Sprintf("%#v", se); !strings.Contains(got, "Offset:") || !strings.Contains(got, key) {
		t.Errorf("%%#v = %s, want the fields with the key kept", got)
	}
	if got := fmt.Sprintf("%#v", m[0][1]); got != `msaddr.Section{Name:"shs", Args:[]string{"`+key+`", "`+strings.Repeat("*", len(seed))+`"}}` {
		t.Errorf("%%#v = %s", got)
	}
	// String is the address itself: it must keep the seed to be dialled.
	if m.String() != "net:h:1~shs:"+key+":"+seed {
		t.Errorf("String() = %q, lost the seed", m.String())
	}
}

// printedForms returns v as fmt's verbs, encoding/json and both slog
// handlers print it.
func printedForms(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, verb := range []string{"%v", "%s", "%q", "%+v", "%#v"} {
		out = append(out, fmt.Sprintf(verb, v))
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Errorf("json.Marshal(%T): %v", v, err)
	}
	out = append(out, string(j))
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
	out = append(out, buf.String())
	return out
}

func FuzzRedact(f *testing.F) {
	f.Add("net:h:1~shs:" + key + ":" + seed)
	f.Add("shs:a:b!~c;shs:d:e~shs::f")
	f.Add("net:h:1~shs:" + key + ":se!ed~~")
	f.Fuzz(func(t *testing.T, in string) {
		out := Redact(in)
		if len(out) != len(in) {
			t.Fatalf("Redact(%q) = %q: length changed", in, out)
		}
		m, err := Parse(in)
		if err != nil {
			return
		}
		r, err := Parse(out)
		if err != nil {
			t.Fatalf("Redact(%q) = %q does not parse: %v", in, out, err)
		}
		if len(r) != len(m) {
			t.Fatalf("Redact(%q) = %q: alternatives changed", in, out)
		}
		for i := range m {
			for j := range m[i] {
				want := m[i][j].Redacted()
				got := r[i][j]
				if got.Name != want.Name || len(got.Args) != len(want.Args) {
					t.Fatalf("Redact(%q) = %q: section %d.%d changed", in, out, i, j)
				}
				for k := range got.Args {
					if want.Args[k] != got.Args[k] && strings.Trim(got.Args[k], "*") != "" {
						t.Fatalf("Redact(%q) = %q: argument %q became %q", in, out, want.Args[k], got.Args[k])
					}
				}
			}
		}
	})
}
