package serialport

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

func TestParseSection(t *testing.T) {
	for _, tc := range []struct {
		in   string
		path string
		baud int
		out  string // canonical form; "" = same as in
	}{
		{in: "serial:/dev/ttyUSB0:115200", path: "/dev/ttyUSB0", baud: 115200},
		{in: "serial:/dev/rfcomm0:0", path: "/dev/rfcomm0", baud: 0},
		{in: "serial:COM3:9600", path: "COM3", baud: 9600},
		{in: "serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0:115200", path: "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0", baud: 115200},
		{in: "serial:/dev/odd!~name!!:2147483647", path: "/dev/odd~name!", baud: 2147483647},
		{in: "serial:/dev/colon!:escaped:0", path: "/dev/colon:escaped", baud: 0, out: "serial:/dev/colon:escaped:0"},
		{in: "serial:relative:1", path: "relative", baud: 1},
		{in: "serial:/dev/tty:007", path: "/dev/tty", baud: 7, out: "serial:/dev/tty:7"},
	} {
		s, err := msaddr.ParseSection(tc.in)
		if err != nil {
			t.Fatalf("%s: msaddr: %v", tc.in, err)
		}
		path, baud, err := ParseSection(s)
		if err != nil || path != tc.path || baud != tc.baud {
			t.Errorf("ParseSection(%s) = %q, %d, %v; want %q, %d", tc.in, path, baud, err, tc.path, tc.baud)
			continue
		}
		want := tc.out
		if want == "" {
			want = tc.in
		}
		c, err := New(nil).Parse(s)
		if err != nil || c.Section().String() != want {
			t.Errorf("Parse(%s) = %s, %v; want %s", tc.in, c, err, want)
		}
		if got := FormatSection(path, baud).String(); got != want {
			t.Errorf("FormatSection(%q, %d) = %s; want %s", path, baud, got, want)
		}
	}
}

func TestParseSectionErrors(t *testing.T) {
	for _, tc := range []struct {
		sec  msaddr.Section
		want string
	}{
		{msaddr.Section{Name: "net", Args: []string{"x", "1"}}, "not a serial section"},
		{msaddr.Section{Name: Name}, "want serial:PATH:BAUD"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/ttyS0"}}, "want serial:PATH:BAUD"},
		{msaddr.Section{Name: Name, Args: []string{"115200", "/dev/ttyS0"}}, "not a decimal number"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/ttyS0", ""}}, "empty baud rate"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/ttyS0", "-1"}}, "not a decimal number"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/ttyS0", "+9600"}}, "not a decimal number"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/ttyS0", "2147483648"}}, "out of range"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/ttyS0", "99999999999999999999"}}, "out of range"},
		{msaddr.Section{Name: Name, Args: []string{"", "9600"}}, "empty device path"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/a;b", "9600"}}, "contains ';'"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/a\nb", "9600"}}, "control character"},
		{msaddr.Section{Name: Name, Args: []string{"/dev/\xff", "9600"}}, "not valid UTF-8"},
	} {
		_, _, err := ParseSection(tc.sec)
		if !errors.Is(err, stack.ErrAddress) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSection(%q) = %v; want stack.ErrAddress saying %q", tc.sec.Args, err, tc.want)
		}
		if _, err := New(nil).Parse(tc.sec); !errors.Is(err, stack.ErrAddress) {
			t.Errorf("Parse(%q) = %v; want stack.ErrAddress", tc.sec.Args, err)
		}
		if _, err := New(nil).Listen(t.Context(), tc.sec, nil); !errors.Is(err, stack.ErrAddress) {
			t.Errorf("Listen(%q) = %v; want stack.ErrAddress", tc.sec.Args, err)
		}
	}
}

// FuzzParseSection checks that every section ParseSection accepts formats
// to a string that parses back to the same path and baud.
func FuzzParseSection(f *testing.F) {
	for _, s := range []string{
		"serial:/dev/ttyUSB0:115200", "serial:/dev/rfcomm0:0", "serial:COM3:9600",
		"serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0:115200",
		"serial:/dev/odd!~name!!:1", "serial::1", "serial:a:", "serial:a;b:1", "serial:/x:99999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := msaddr.ParseSection(in)
		if err != nil {
			return
		}
		path, baud, err := ParseSection(s)
		if err != nil {
			if !errors.Is(err, stack.ErrAddress) {
				t.Fatalf("ParseSection(%q) error %v does not wrap stack.ErrAddress", in, err)
			}
			return
		}
		if baud < 0 || baud > MaxBaud || path == "" || strings.ContainsAny(path, ";") {
			t.Fatalf("ParseSection(%q) accepted path %q baud %d", in, path, baud)
		}
		out := FormatSection(path, baud).String()
		s2, err := msaddr.ParseSection(out)
		if err != nil {
			t.Fatalf("FormatSection(%q, %d) = %q does not parse: %v", path, baud, out, err)
		}
		p2, b2, err := ParseSection(s2)
		if err != nil || p2 != path || b2 != baud {
			t.Fatalf("round trip of %q: %q, %d, %v; want %q, %d", in, p2, b2, err, path, baud)
		}
		if c, err := New(nil).Parse(s); err != nil || c.Section().String() != out {
			t.Fatalf("Parse(%q) = %v, %v; want %s", in, c, err, out)
		}
	})
}
