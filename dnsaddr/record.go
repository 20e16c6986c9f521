package dnsaddr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-multiserver/multiserver/msaddr"
)

// Name is the section name of a dns: alternative.
const Name = "dns"

// Label is the label under which a name publishes its addresses.
const Label = "_multiserver"

// maxString is the longest character-string a TXT record holds (RFC 1035
// §3.3: one length byte).
const maxString = 255

// IsDNS reports whether a is a dns: alternative.
func IsDNS(a msaddr.Address) bool { return len(a) > 0 && a[0].Name == Name }

// ParseName checks the dns section s ("dns:example.com") and returns its
// domain name in canonical form: lowercase ASCII, without a trailing dot.
// A name is one or more labels of letters, digits, '-' and '_' separated
// by '.', each at most 63 bytes, 253 bytes in all. It does no I/O.
func ParseName(s msaddr.Section) (string, error) {
	if s.Name != Name {
		return "", fmt.Errorf("%w: section %q is not %s", ErrName, s.Name, Name)
	}
	if len(s.Args) != 1 {
		return "", fmt.Errorf("%w: want dns:NAME, got %d arguments", ErrName, len(s.Args))
	}
	name := strings.TrimSuffix(s.Args[0], ".")
	if name == "" {
		return "", fmt.Errorf("%w: empty name", ErrName)
	}
	// The TXT name adds Label and a dot.
	if len(name)+len(Label)+1 > 253 {
		return "", fmt.Errorf("%w: name %d bytes long; at most %d", ErrName, len(name), 253-len(Label)-1)
	}
	for i, l := range strings.Split(name, ".") {
		if l == "" {
			return "", fmt.Errorf("%w: empty label %d in %q", ErrName, i+1, s.Args[0])
		}
		if len(l) > 63 {
			return "", fmt.Errorf("%w: label %d is %d bytes long; at most 63", ErrName, i+1, len(l))
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%w: byte %q in label %d of %q; want letters, digits, '-' or '_'", ErrName, c, i+1, s.Args[0])
			}
		}
	}
	return strings.ToLower(name), nil
}

// TXTName returns the fully qualified name whose TXT records publish name:
// "_multiserver." + name + ".".
func TXTName(name string) string { return Label + "." + name + "." }

// Decode parses one TXT record (its strings already joined) as a
// multiserver address, checking the name of every dns: alternative in it.
func Decode(record string) (msaddr.Multi, error) {
	m, err := msaddr.Parse(record)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	for i, a := range m {
		if IsDNS(a) {
			if _, err := ParseName(a[0]); err != nil {
				return nil, fmt.Errorf("%w: alternative %d: %w", ErrRecord, i+1, err)
			}
		}
	}
	return m, nil
}

// Strings splits the record text s into the character-strings of one TXT
// record, each at most 255 bytes. Joined, they give s back. The split may
// fall inside a UTF-8 sequence: the strings are bytes, and resolvers join
// them before anyone reads them.
func Strings(s string) []string {
	var out []string
	for len(s) > maxString {
		out = append(out, s[:maxString])
		s = s[maxString:]
	}
	return append(out, s)
}

// ZoneLine returns the zone-file line (RFC 1035 §5.1) of the TXT record
// that publishes m at name, such as
//
//	_multiserver.example.com. 300 IN TXT "net:example.com:8008~shs:<key>"
//
// with the text split into strings of at most 255 bytes. ttl is in
// seconds.
func ZoneLine(name string, ttl uint32, m msaddr.Multi) (string, error) {
	name, err := ParseName(msaddr.Section{Name: Name, Args: []string{name}})
	if err != nil {
		return "", err
	}
	if len(m) == 0 {
		return "", fmt.Errorf("%w: nothing to publish at %s", ErrRecord, name)
	}
	var b strings.Builder
	b.WriteString(TXTName(name))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(ttl), 10))
	b.WriteString(" IN TXT")
	for _, s := range Strings(m.String()) {
		b.WriteString(" \"")
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c >= 0x7f:
				fmt.Fprintf(&b, "\\%03d", c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	return b.String(), nil
}
