package multiserver

import (
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
