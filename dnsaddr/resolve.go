package dnsaddr

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/go-multiserver/multiserver/msaddr"
)

// Default limits of a Resolver.
const (
	// DefaultMaxDepth bounds how many dns: names are followed one inside
	// another, the first included.
	DefaultMaxDepth = 4
	// DefaultMaxAlternatives bounds the alternatives, dns: ones included,
	// that the records reached from one dns: alternative hold in all. It
	// also bounds the lookups.
	DefaultMaxAlternatives = 32
)

// A TXTResolver looks up the TXT records of a name, each record's strings
// joined. *net.Resolver is one.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// A Resolver expands dns: alternatives. The zero value asks the system's
// resolver with the default limits.
type Resolver struct {
	// TXT does the lookups; nil means net.DefaultResolver.
	TXT TXTResolver
	// MaxDepth is DefaultMaxDepth when zero or negative.
	MaxDepth int
	// MaxAlternatives is DefaultMaxAlternatives when zero or negative.
	MaxAlternatives int
}

// An Alternative is one address an expansion gave.
type Alternative struct {
	Addr msaddr.Address
	// From is the TXT name whose record held Addr, such as
	// "_multiserver.example.com.".
	From string
}

// A Lookup is one TXT query made during an expansion and its answer.
type Lookup struct {
	Name    string   // the TXT name, such as "_multiserver.example.com."
	Records []string // the records, each one's strings joined
	Err     error    // why the lookup failed, or nil
}

// A Result is what one dns: alternative expanded to.
type Result struct {
	// Alternatives replace the dns: alternative, in order: records in the
	// order the answer gave them, each record's alternatives in their
	// order, nested dns: alternatives expanded in place. An alternative
	// equal to an earlier one is left out.
	Alternatives []Alternative
	// Lookups are the queries made, in order, each name once.
	Lookups []Lookup
	// Problems are the parts that gave nothing: records that do not parse
	// (*RecordError), failed nested lookups, loops, names nested too deep,
	// records whose alternatives all miss the pin.
	Problems []error
}

// An Error reports a dns: alternative that gave nothing to dial.
type Error struct {
	Name    string   // the name of the dns: alternative
	Lookups []Lookup // the queries made and what they gave
	Errs    []error  // why: one per problem met
}

// Error lists the problems, which name the lookups, on one line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dnsaddr: dns:%s gave nothing to dial", e.Name)
	for i, err := range e.Errs {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns ErrNoAlternative and the problems.
func (e *Error) Unwrap() []error { return append([]error{ErrNoAlternative}, e.Errs...) }

// A RecordError reports a TXT record that is not a multiserver address.
type RecordError struct {
	Name   string // the TXT name
	Index  int    // position of the record in the answer, from 0
	Record string // the record, strings joined
	Err    error  // wraps ErrRecord
}

// maxQuoted bounds how much of a bad record an error message quotes.
const maxQuoted = 120

// Error names the record and quotes its beginning, invite seeds redacted.
func (e *RecordError) Error() string {
	q := msaddr.Redact(e.Record)
	more := ""
	if len(q) > maxQuoted {
		q, more = q[:maxQuoted], fmt.Sprintf("... (%d bytes)", len(e.Record))
	}
	return fmt.Sprintf("record %d at %s %q%s: %v", e.Index+1, e.Name, q, more, e.Err)
}

// Unwrap returns the parse error.
func (e *RecordError) Unwrap() error { return e.Err }

// Resolve expands the dns: alternative a (dns:NAME, then any pinned
// sections) by looking up the TXT records at _multiserver.NAME. Only
// alternatives carrying every pinned section (exactly, as in shs:KEY) are
// kept. ctx bounds all lookups.
//
// Resolve returns an error only if nothing usable is left, or if a bad
// pin or the MaxAlternatives limit makes the whole answer unusable; the
// error is then an *Error, or wraps ErrName for a bad dns: section. The
// Result is returned in every case but the last.
func (r *Resolver) Resolve(ctx context.Context, a msaddr.Address) (*Result, error) {
	if !IsDNS(a) {
		return nil, fmt.Errorf("%w: %s is not a dns: alternative", ErrName, a)
	}
	name, err := ParseName(a[0])
	if err != nil {
		return nil, err
	}
	x := &expander{ctx: ctx, txt: r.TXT, res: &Result{}, cache: map[string]int{}, seen: map[string]bool{},
		maxDepth: r.MaxDepth, maxAlts: r.MaxAlternatives}
	if x.txt == nil {
		x.txt = net.DefaultResolver
	}
	if x.maxDepth <= 0 {
		x.maxDepth = DefaultMaxDepth
	}
	if x.maxAlts <= 0 {
		x.maxAlts = DefaultMaxAlternatives
	}
	x.expand(name, a[1:], nil)
	if x.over {
		return x.res, &Error{Name: name, Lookups: x.res.Lookups, Errs: []error{
			fmt.Errorf("%w: more than %d alternatives reached from dns:%s", ErrTooMany, x.maxAlts, name)}}
	}
	if len(x.res.Alternatives) == 0 {
		return x.res, &Error{Name: name, Lookups: x.res.Lookups, Errs: x.res.Problems}
	}
	return x.res, nil
}

type expander struct {
	ctx      context.Context
	txt      TXTResolver
	res      *Result
	cache    map[string]int  // TXT name -> index in res.Lookups
	seen     map[string]bool // alternatives already in res, as strings
	maxDepth int
	maxAlts  int
	count    int  // alternatives met
	over     bool // count went over maxAlts
}

func (x *expander) lookup(txt string) Lookup {
	if i, ok := x.cache[txt]; ok {
		return x.res.Lookups[i]
	}
	recs, err := x.txt.LookupTXT(x.ctx, txt)
	if err == nil && len(recs) == 0 {
		err = fmt.Errorf("no TXT records")
	}
	l := Lookup{Name: txt, Records: recs, Err: err}
	x.cache[txt] = len(x.res.Lookups)
	x.res.Lookups = append(x.res.Lookups, l)
	return l
}

func (x *expander) problem(err error) { x.res.Problems = append(x.res.Problems, err) }

// expand resolves name, keeping alternatives that carry pins; path holds
// the names being resolved around it, outermost first.
func (x *expander) expand(name string, pins []msaddr.Section, path []string) {
	txt := TXTName(name)
	l := x.lookup(txt)
	if l.Err != nil {
		x.problem(fmt.Errorf("%w: %s: %w", ErrLookup, txt, l.Err))
		return
	}
	path = append(path, name)
	leaves, matched := 0, 0
	for i, rec := range l.Records {
		m, err := Decode(rec)
		if err != nil {
			x.problem(&RecordError{Name: txt, Index: i, Record: rec, Err: err})
			continue
		}
		for _, alt := range m {
			if x.count++; x.count > x.maxAlts {
				x.over = true
				return
			}
			if IsDNS(alt) {
				next, _ := ParseName(alt[0]) // Decode checked it
				switch {
				case slices.Contains(path, next):
					x.problem(fmt.Errorf("%w: %s -> dns:%s", ErrLoop, chain(path), next))
				case len(path) >= x.maxDepth:
					x.problem(fmt.Errorf("%w: %s -> dns:%s is deeper than %d", ErrDepth, chain(path), next, x.maxDepth))
				default:
					x.expand(next, append(slices.Clip(pins), alt[1:]...), slices.Clip(path))
				}
				if x.over {
					return
				}
				continue
			}
			leaves++
			if !carries(alt, pins) {
				continue
			}
			matched++
			if s := alt.String(); !x.seen[s] {
				x.seen[s] = true
				x.res.Alternatives = append(x.res.Alternatives, Alternative{Addr: alt, From: txt})
			}
		}
	}
	if leaves > 0 && matched == 0 {
		x.problem(fmt.Errorf("%w: none of the %d alternatives at %s carries %s", ErrPin, leaves, txt, msaddr.Redact(msaddr.Address(pins).String())))
	}
}

func chain(path []string) string { return "dns:" + strings.Join(path, " -> dns:") }

// carries reports whether every pin is one of a's transforms.
func carries(a msaddr.Address, pins []msaddr.Section) bool {
	for _, p := range pins {
		if !slices.ContainsFunc(a.Transforms(), p.Equal) {
			return false
		}
	}
	return true
}
