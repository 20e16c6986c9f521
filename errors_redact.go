package multiserver

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-multiserver/multiserver/msaddr"
)

// GoString is the %#v form of e, with the invite seeds in Addr redacted
// (msaddr.Redact); the alternatives' errors are printed with %#v.
func (e *DialError) GoString() string {
	if e == nil {
		return "(*multiserver.DialError)(nil)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "&multiserver.DialError{Addr:%q, Errs:", msaddr.Redact(e.Addr))
	if e.Errs == nil {
		b.WriteString("[]error(nil)}")
		return b.String()
	}
	b.WriteString("[]error{")
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%#v", err)
	}
	b.WriteString("}}")
	return b.String()
}

// MarshalJSON encodes e as its message, its address with invite seeds
// redacted, and the message of each alternative's error.
func (e *DialError) MarshalJSON() ([]byte, error) {
	errs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		errs[i] = err.Error()
	}
	return json.Marshal(struct {
		Addr  string
		Errs  []string
		Error string
	}{msaddr.Redact(e.Addr), errs, e.Error()})
}
