package msaddr

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrSyntax is the sentinel wrapped by every *SyntaxError.
var ErrSyntax = errors.New("msaddr: invalid address")

// A SyntaxError reports where and why an address failed to parse.
type SyntaxError struct {
	Input  string // the whole input, as given
	Offset int    // byte offset of the offending character in Input
	Reason string // what is wrong there
}

// Error says where (the byte offset) and why; it does not repeat the input.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("msaddr: invalid address at byte %d: %s", e.Offset, e.Reason)
}

// Unwrap returns ErrSyntax, so errors.Is(err, ErrSyntax) holds.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// A Section is one part of a stack: a transport ("net", "ws", "unix") or a
// transform ("shs", "noauth"), with its arguments unescaped.
type Section struct {
	Name string
	Args []string
}

// An Address is one way to reach a peer: a transport section followed by
// zero or more transform sections.
type Address []Section

// A Multi is a list of alternative addresses for one peer, in preference
// order.
type Multi []Address

// String formats s, escaping '!', '~', ':' and ';' inside arguments.
func (s Section) String() string {
	var b strings.Builder
	s.appendTo(&b)
	return b.String()
}

func (s Section) appendTo(b *strings.Builder) {
	b.WriteString(s.Name)
	for _, a := range s.Args {
		b.WriteByte(':')
		writeEscaped(b, a)
	}
}

// Equal reports whether s and t have the same name and arguments.
func (s Section) Equal(t Section) bool {
	if s.Name != t.Name || len(s.Args) != len(t.Args) {
		return false
	}
	for i := range s.Args {
		if s.Args[i] != t.Args[i] {
			return false
		}
	}
	return true
}

// String formats a as its sections joined by '~'.
func (a Address) String() string {
	var b strings.Builder
	a.appendTo(&b)
	return b.String()
}

func (a Address) appendTo(b *strings.Builder) {
	for i, s := range a {
		if i > 0 {
			b.WriteByte('~')
		}
		s.appendTo(b)
	}
}

// Equal reports whether a and b have equal sections.
func (a Address) Equal(b Address) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// Transport returns the first section, or the zero Section if a is empty.
func (a Address) Transport() Section {
	if len(a) == 0 {
		return Section{}
	}
	return a[0]
}

// Transforms returns the sections after the transport.
func (a Address) Transforms() []Section {
	if len(a) == 0 {
		return nil
	}
	return a[1:]
}

// String formats m as its addresses joined by ';'.
func (m Multi) String() string {
	var b strings.Builder
	for i, a := range m {
		if i > 0 {
			b.WriteByte(';')
		}
		a.appendTo(&b)
	}
	return b.String()
}

// Clone returns a deep copy of m.
func (m Multi) Clone() Multi {
	if m == nil {
		return nil
	}
	c := make(Multi, len(m))
	for i, a := range m {
		c[i] = a.Clone()
	}
	return c
}

// Clone returns a deep copy of a.
func (a Address) Clone() Address {
	if a == nil {
		return nil
	}
	c := make(Address, len(a))
	for i, s := range a {
		c[i] = Section{Name: s.Name, Args: append([]string(nil), s.Args...)}
	}
	return c
}

// Equal reports whether m and n have equal addresses in the same order.
func (m Multi) Equal(n Multi) bool {
	if len(m) != len(n) {
		return false
	}
	for i := range m {
		if !m[i].Equal(n[i]) {
			return false
		}
	}
	return true
}

func isSpecial(c byte) bool { return c == '!' || c == '~' || c == ':' || c == ';' }

func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if isSpecial(s[i]) {
			b.WriteByte('!')
		}
		b.WriteByte(s[i])
	}
}

// Escape returns s with '!', '~', ':' and ';' escaped by '!'.
func Escape(s string) string {
	var b strings.Builder
	writeEscaped(&b, s)
	return b.String()
}

// Parse parses a multi-address: one or more addresses separated by ';'.
func Parse(s string) (Multi, error) {
	p := parser{in: s}
	m, err := p.multi()
	if se, ok := err.(*SyntaxError); ok {
		if h := HostPortHint(s); h != "" {
			se.Reason += "; " + h
		}
	}
	return m, err
}

// HostPortHint returns a hint when s looks like a plain "host:port" (as
// net.Dial takes it) rather than a multiserver address, which names its
// transport: for "127.0.0.1:8080" it suggests "net:127.0.0.1:8080". It
// returns "" for anything else.
func HostPortHint(s string) string {
	if strings.ContainsAny(s, "~;!/") {
		return ""
	}
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return ""
	}
	host, port := s[:i], s[i+1:]
	if _, err := ParsePort(port); err != nil {
		return ""
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return ""
	}
	if host == "" {
		return ""
	}
	return "a multiserver address names its transport, as in " + HostPortSection("net", host, mustPort(port)).String()
}

func mustPort(s string) int {
	n, _ := ParsePort(s)
	return n
}

// ParseAddress parses a single address (no unescaped ';').
func ParseAddress(s string) (Address, error) {
	p := parser{in: s}
	m, err := p.multi()
	if err != nil {
		return nil, err
	}
	if len(m) != 1 {
		return nil, &SyntaxError{Input: s, Offset: p.firstSemi, Reason: "';' separates alternatives; expected a single address"}
	}
	return m[0], nil
}

// ParseSection parses a single section (no unescaped '~' or ';').
func ParseSection(s string) (Section, error) {
	a, err := ParseAddress(s)
	if err != nil {
		return Section{}, err
	}
	if len(a) != 1 {
		return Section{}, &SyntaxError{Input: s, Offset: strings.IndexByte(s, '~'), Reason: "'~' separates sections; expected a single section"}
	}
	return a[0], nil
}

// MustParse is like Parse but panics on error. It is meant for addresses
// written as constants in programs and tests.
func MustParse(s string) Multi {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

type parser struct {
	in        string
	pos       int
	firstSemi int
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return &SyntaxError{Input: p.in, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func (p *parser) multi() (Multi, error) {
	if p.in == "" {
		return nil, p.errorf(0, "empty address")
	}
	var m Multi
	for {
		a, err := p.address()
		if err != nil {
			return nil, err
		}
		m = append(m, a)
		if p.pos == len(p.in) {
			return m, nil
		}
		// p.in[p.pos] == ';'
		if len(m) == 1 {
			p.firstSemi = p.pos
		}
		p.pos++
		if p.pos == len(p.in) {
			return nil, p.errorf(p.pos-1, "trailing ';' (empty alternative)")
		}
	}
}

func (p *parser) address() (Address, error) {
	var a Address
	for {
		s, err := p.section()
		if err != nil {
			return nil, err
		}
		a = append(a, s)
		if p.pos == len(p.in) || p.in[p.pos] == ';' {
			return a, nil
		}
		// '~'
		p.pos++
		if p.pos == len(p.in) {
			return nil, p.errorf(p.pos-1, "trailing '~' (empty section)")
		}
	}
}

func isNameStart(c byte) bool { return c >= 'a' && c <= 'z' }
func isNameByte(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' || c == '-' }

func (p *parser) section() (Section, error) {
	start := p.pos
	for p.pos < len(p.in) && isNameByte(p.in[p.pos]) {
		p.pos++
	}
	name := p.in[start:p.pos]
	if name == "" {
		if p.pos == len(p.in) || p.in[p.pos] == ';' || p.in[p.pos] == '~' {
			return Section{}, p.errorf(p.pos, "empty section")
		}
		return Section{}, p.errorf(p.pos, "section name must start with a lowercase letter, found %q", p.rune())
	}
	if !isNameStart(name[0]) {
		return Section{}, p.errorf(start, "section name must start with a lowercase letter, found %q", name[0])
	}
	s := Section{Name: name}
	if p.pos < len(p.in) {
		switch c := p.in[p.pos]; c {
		case ':', '~', ';':
		default:
			return Section{}, p.errorf(p.pos, "section name may hold only a-z, 0-9 and '-', found %q", p.rune())
		}
	}
	for p.pos < len(p.in) && p.in[p.pos] == ':' {
		p.pos++
		arg, err := p.arg()
		if err != nil {
			return Section{}, err
		}
		s.Args = append(s.Args, arg)
	}
	return s, nil
}

// rune returns the character at p.pos for error messages.
func (p *parser) rune() rune {
	r, _ := utf8.DecodeRuneInString(p.in[p.pos:])
	return r
}

func (p *parser) arg() (string, error) {
	start := p.pos
	escaped := false
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == ':' || c == '~' || c == ';':
			return p.unescape(start, escaped), nil
		case c == '!':
			if p.pos+1 == len(p.in) {
				return "", p.errorf(p.pos, "'!' at the end of the address escapes nothing")
			}
			if !isSpecial(p.in[p.pos+1]) {
				p.pos++
				return "", p.errorf(p.pos-1, "'!' may escape only '!', '~', ':' or ';', not %q", p.rune())
			}
			escaped = true
			p.pos += 2
		case c < 0x20 || c == 0x7f:
			return "", p.errorf(p.pos, "control character %q", c)
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, n := utf8.DecodeRuneInString(p.in[p.pos:])
			if r == utf8.RuneError && n == 1 {
				return "", p.errorf(p.pos, "invalid UTF-8")
			}
			p.pos += n
		}
	}
	return p.unescape(start, escaped), nil
}

func (p *parser) unescape(start int, escaped bool) string {
	raw := p.in[start:p.pos]
	if !escaped {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '!' {
			i++
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}
