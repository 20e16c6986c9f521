package multiserver

import (
	"fmt"
	"log/slog"

	"github.com/go-multiserver/multiserver/msaddr"
)

// Addr is a multiserver address as a net.Addr. Its String form can be
// passed to Dial as is.
type Addr struct {
	m msaddr.Multi
}

var _ interface{ Network() string } = (*Addr)(nil)

// NewAddr returns m as a net.Addr.
func NewAddr(m msaddr.Multi) *Addr { return &Addr{m: m} }

// Network returns "multiserver".
func (a *Addr) Network() string { return "multiserver" }

// String returns the address in multiserver syntax.
func (a *Addr) String() string {
	if a == nil {
		return "<nil>"
	}
	return a.m.String()
}

// Multi returns a copy of the parsed address.
func (a *Addr) Multi() msaddr.Multi { return a.m.Clone() }

// GoString is the %#v form of a, with invite seeds redacted
// (msaddr.Redact): String is the address to dial, GoString is for
// debugging output.
func (a *Addr) GoString() string {
	if a == nil {
		return "(*multiserver.Addr)(nil)"
	}
	return fmt.Sprintf("multiserver.NewAddr(msaddr.MustParse(%q))", msaddr.Redact(a.m.String()))
}

// LogValue logs a in address syntax, with invite seeds redacted.
func (a *Addr) LogValue() slog.Value {
	if a == nil {
		return slog.StringValue("<nil>")
	}
	return slog.StringValue(msaddr.Redact(a.m.String()))
}
