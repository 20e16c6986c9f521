package dnsaddr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in  string
		err error
	}{
		{"net:example.com:8008~shs:" + keyA, nil},
		{"net:a:1~shs:" + keyA + ";ws://a:2~shs:" + keyA, nil},
		{"dns:other.example~shs:" + keyA, nil},
		{"", msaddr.ErrSyntax},
		{"net:a:1;", msaddr.ErrSyntax},
		{" net:a:1", msaddr.ErrSyntax},
		{"dns:", dnsaddr.ErrName},
		{"net:a:1;dns:a:b", dnsaddr.ErrName},
	}
	for _, tt := range tests {
		m, err := dnsaddr.Decode(tt.in)
		if tt.err == nil {
			if err != nil || m.String() != tt.in {
				t.Errorf("Decode(%q) = %v, %v", tt.in, m, err)
			}
			continue
		}
		if !errors.Is(err, tt.err) || !errors.Is(err, dnsaddr.ErrRecord) {
			t.Errorf("Decode(%q): %v; want ErrRecord and %v", tt.in, err, tt.err)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 510, 511, 1000} {
		s := strings.Repeat("x", n)
		parts := dnsaddr.Strings(s)
		if strings.Join(parts, "") != s {
			t.Errorf("%d bytes: parts do not join back", n)
		}
		for i, p := range parts {
			if len(p) > 255 || len(p) == 0 && n > 0 || i < len(parts)-1 && len(p) != 255 {
				t.Errorf("%d bytes: part %d is %d bytes", n, i, len(p))
			}
		}
	}
}

func TestZoneLine(t *testing.T) {
	m := msaddr.MustParse("net:example.com:8008~shs:" + keyA + ";unix:/run/a\"b\\c\u00e9~noauth")
	line, err := dnsaddr.ZoneLine("Example.com.", 300, m)
	if err != nil {
		t.Fatal(err)
	}
	want := `_multiserver.example.com. 300 IN TXT "net:example.com:8008~shs:` + keyA + `;unix:/run/a\"b\\c\195\169~noauth"`
	if line != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	long := msaddr.MustParse("net:" + strings.Repeat("h", 300) + ":1")
	line, _ = dnsaddr.ZoneLine("example.com", 60, long)
	if strings.Count(line, `"`) != 4 {
		t.Errorf("a 306-byte record is not two strings: %s", line)
	}
	if _, err := dnsaddr.ZoneLine("bad name", 60, m); !errors.Is(err, dnsaddr.ErrName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := dnsaddr.ZoneLine("example.com", 60, nil); !errors.Is(err, dnsaddr.ErrRecord) {
		t.Errorf("nothing to publish: %v", err)
	}
}

// FuzzDecode checks that Decode never panics, that what it accepts
// formats back to an address it decodes the same, and that the split into
// TXT strings joins back to the record.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"net:example.com:8008~shs:" + keyA,
		"net:a:1~shs:" + keyA + ";ws://a:2/x?y~shs:" + keyA,
		"dns:other.example~shs:" + keyA + ";dns:b.example.",
		"unix:/run/a!;b~noauth",
		"dns:a..b", "net:a:1;;", "!", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		m, err := dnsaddr.Decode(rec)
		if err != nil {
			if !errors.Is(err, dnsaddr.ErrRecord) {
				t.Fatalf("Decode(%q): error %v does not wrap ErrRecord", rec, err)
			}
			return
		}
		s := m.String()
		if strings.Join(dnsaddr.Strings(s), "") != s {
			t.Fatalf("Strings(%q) does not join back", s)
		}
		m2, err := dnsaddr.Decode(s)
		if err != nil || !m2.Equal(m) {
			t.Fatalf("Decode(%q) = %v, %v; want %v", s, m2, err, m)
		}
		if _, err := dnsaddr.ZoneLine("example.com", 1, m); err != nil {
			t.Fatalf("ZoneLine of a decoded record: %v", err)
		}
	})
}

func ExampleZoneLine() {
	m := msaddr.MustParse("net:example.com:8008~shs:" + keyA + ";ws://example.com:8989~shs:" + keyA)
	line, err := dnsaddr.ZoneLine("example.com", 300, m)
	if err != nil {
		panic(err)
	}
	fmt.Println(line)
	// Output:
	// _multiserver.example.com. 300 IN TXT "net:example.com:8008~shs:6ilZq3kN0F+dXFHAPjAwMm87JEb/VdB+LC9eIMW3sa0=;ws://example.com:8989~shs:6ilZq3kN0F+dXFHAPjAwMm87JEb/VdB+LC9eIMW3sa0="
}
