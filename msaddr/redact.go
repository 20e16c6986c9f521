package msaddr

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// secretFrom maps a section name to the index of its first secret
// argument; every argument from there on is secret. The only secret an
// address carries today is the invite seed of "shs:KEY:SEED". It lives in
// the grammar package, not in shs, so that input Parse rejects, which no
// plugin ever sees, is redacted too.
var secretFrom = map[string]int{"shs": 1}

// Redacted replaces each byte of a secret argument.
const Redacted = '*'

// Redact returns s with every secret argument (the invite seed of an
// "shs:KEY:SEED" section) replaced by '*', byte for byte, so that byte
// offsets into s, such as SyntaxError.Offset, stay valid. It works on
// input Parse rejects as well and leaves everything else as it is.
func Redact(s string) string {
	var b []byte // nil until the first secret byte
	start, inName, arg, from := 0, true, -1, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		secret := !inName && from >= 0 && arg >= from
		switch {
		case c == '!' && i+1 < len(s) && isSpecial(s[i+1]):
			if secret {
				b = redactAt(b, s, i, i+1)
			}
			i++
		case c == '~' || c == ';':
			start, inName, arg, from = i+1, true, -1, -1
		case c == ':':
			if inName {
				inName = false
				if f, ok := secretFrom[s[start:i]]; ok {
					from = f
				}
			}
			arg++
		case secret:
			b = redactAt(b, s, i)
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

func redactAt(b []byte, s string, at ...int) []byte {
	if b == nil {
		b = []byte(s)
	}
	for _, i := range at {
		b[i] = Redacted
	}
	return b
}

// Redacted returns s with its secret arguments replaced as Redact does.
func (s Section) Redacted() Section {
	from, ok := secretFrom[s.Name]
	if !ok || len(s.Args) <= from {
		return s
	}
	r := Section{Name: s.Name, Args: append([]string(nil), s.Args...)}
	for i := from; i < len(r.Args); i++ {
		r.Args[i] = strings.Repeat(string(Redacted), len(r.Args[i]))
	}
	return r
}

// GoString is the %#v form of s, with secret arguments redacted.
func (s Section) GoString() string {
	r := s.Redacted()
	if r.Args == nil {
		return "msaddr.Section{Name:" + strconv.Quote(r.Name) + ", Args:[]string(nil)}"
	}
	var b strings.Builder
	b.WriteString("msaddr.Section{Name:" + strconv.Quote(r.Name) + ", Args:[]string{")
	for i, a := range r.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(a))
	}
	b.WriteString("}}")
	return b.String()
}

// LogValue logs s in address syntax, with secret arguments redacted.
func (s Section) LogValue() slog.Value { return slog.StringValue(Redact(s.String())) }

// LogValue logs a in address syntax, with secret arguments redacted.
func (a Address) LogValue() slog.Value { return slog.StringValue(Redact(a.String())) }

// LogValue logs m in address syntax, with secret arguments redacted.
func (m Multi) LogValue() slog.Value { return slog.StringValue(Redact(m.String())) }

// MarshalJSON encodes s as {"Name":…,"Args":[…]}, with secret arguments
// redacted: a Section in a JSON log line must not carry an invite seed.
func (s Section) MarshalJSON() ([]byte, error) {
	r := s.Redacted()
	return json.Marshal(struct {
		Name string
		Args []string
	}{r.Name, r.Args})
}

// GoString is the %#v form of e, with secrets in Input redacted.
func (e *SyntaxError) GoString() string {
	if e == nil {
		return "(*msaddr.SyntaxError)(nil)"
	}
	return fmt.Sprintf("&msaddr.SyntaxError{Input:%q, Offset:%d, Reason:%q}", Redact(e.Input), e.Offset, e.Reason)
}

// MarshalJSON encodes e with its fields and its message, with secrets in
// Input redacted.
func (e *SyntaxError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Input  string
		Offset int
		Reason string
		Error  string
	}{Redact(e.Input), e.Offset, e.Reason, e.Error()})
}
