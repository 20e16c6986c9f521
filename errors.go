package multiserver

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
)

var (
	// ErrNoStack is returned when no alternative of an address uses a
	// stack this Dialer or ListenConfig knows; the error lists the ones it
	// does know.
	ErrNoStack = errors.New("multiserver: no known stack")
	// ErrInvalidConfig is wrapped by the error Dial or Listen returns,
	// before any I/O, for a Config, Dialer or ListenConfig field no
	// connection could work with; the error names the field.
	ErrInvalidConfig = errors.New("multiserver: invalid configuration")
	// ErrHandshake wraps transform failures (shs rejections and the like).
	ErrHandshake = errors.New("multiserver: handshake failed")
	// ErrUnknownHost is wrapped by the error Hosts.Resolve returns for a
	// host it has no address for.
	ErrUnknownHost = errors.New("multiserver: no address for host")
	// ErrOverLimit is reported to ListenConfig.OnError for a conn the
	// listener closed unhandled because its source already had
	// ListenConfig.MaxHandshakesPerIP handshakes in flight.
	ErrOverLimit = errors.New("multiserver: too many handshakes in flight from one source")
	// ErrShed is reported to ListenConfig.OnError for a handshake the
	// listener ended to give its slot to a new conn: all MaxHandshakes
	// slots were taken and this one had gone longest without progress.
	ErrShed = errors.New("multiserver: handshake shed for a new conn (MaxHandshakes in flight)")
	// ErrRefused wraps the refusals of a Dialer's DialPolicy (in the
	// *DialError) and of a ListenConfig's AcceptPolicy (reported to
	// OnError).
	ErrRefused = errors.New("multiserver: refused by policy")
	// ErrDuplicate reports a conn a ConnSet closed because it holds a
	// better conn to the same peer.
	ErrDuplicate = errors.New("multiserver: duplicate conn to a peer")
	// ErrUnrecognized is reported to ListenConfig.OnError for a conn on a
	// port shared by several stacks that was closed, without a byte of
	// reply, because its first bytes fit none of them (an shs hello under
	// another app key, say) or did not come within the peek deadline.
	ErrUnrecognized = errors.New("multiserver: first bytes fit no stack on a shared port")
)

// A DialError reports that every alternative of an address failed. It
// holds one error per alternative tried, in address order; errors.Is and
// errors.As look into each of them.
type DialError struct {
	Addr string  // the address as given to Dial
	Errs []error // one per alternative, each an *AltError
	// Lookups are the DNS queries made for dns: alternatives and what
	// they gave, in order.
	Lookups []dnsaddr.Lookup
}

// Error lists every alternative tried and why it failed, one per line,
// then every DNS lookup made and what it gave.
func (e *DialError) Error() string {
	var b strings.Builder
	b.WriteString("multiserver: dial failed")
	if len(e.Errs) == 1 && len(e.Lookups) == 0 {
		b.WriteString(": ")
		b.WriteString(e.Errs[0].Error())
		return b.String()
	}
	if len(e.Errs) == 1 {
		b.WriteString(":")
	} else {
		fmt.Fprintf(&b, " (%d alternatives):", len(e.Errs))
	}
	for _, err := range e.Errs {
		b.WriteString("\n\t")
		b.WriteString(err.Error())
	}
	for _, l := range e.Lookups {
		fmt.Fprintf(&b, "\n\tlooked up TXT %s: ", l.Name)
		if l.Err != nil {
			fmt.Fprintf(&b, "%v", l.Err)
			continue
		}
		fmt.Fprintf(&b, "%d records", len(l.Records))
		for i, r := range l.Records {
			if i == 0 {
				b.WriteString(": ")
			} else {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", msaddr.Redact(r))
		}
	}
	return b.String()
}

// Unwrap returns the per-alternative errors.
func (e *DialError) Unwrap() []error { return e.Errs }

// An AltError is the failure of one alternative of an address.
type AltError struct {
	Index int    // position of the alternative in the address, from 0
	Stack string // e.g. "net~shs"
	// From is the TXT name whose record gave this alternative when it
	// came from a dns: alternative (Index is then that one's), else "".
	From string
	Err  error
}

// Error names the alternative (counted from 1), its stack and, for a
// resolved one, where it came from.
func (e *AltError) Error() string {
	if e.From != "" {
		return fmt.Sprintf("alternative %d (%s from %s): %v", e.Index+1, e.Stack, e.From, e.Err)
	}
	return fmt.Sprintf("alternative %d (%s): %v", e.Index+1, e.Stack, e.Err)
}

// Unwrap returns the underlying error.
func (e *AltError) Unwrap() error { return e.Err }
