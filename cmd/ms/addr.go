package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-multiserver/multiserver/msaddr"
)

var addrCmd = &command{
	name:    "addr",
	args:    "ADDRS",
	summary: "parse and check an address, print its alternatives and sections",
	detail: `Parse ADDRS and print each alternative (separated by ';') and each of its
sections (separated by '~'). Sections of the stacks ms knows are checked the
way ms dial checks them (hosts, ports, keys) and shown as the stack reads
them (host and port, URL, path, server key), with the canonical form of the
alternative when it differs; other sections are shown as their raw fields.
Invite seeds (shs:KEY:SEED) are printed as '*'. On bad input the error and
its byte position go to stderr and the exit status is 2; so it is when no
alternative uses a stack ms knows, since ms dial refuses such an address.
Listen addresses (port 0, shs without a key) need --syntax.

Text output, one block per alternative:
    alternative 1 (net~shs): net:127.0.0.1:8008~shs:<key>
      net host "127.0.0.1" port 8008
      shs server key @<key>.ed25519`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		asJSON := fs.Bool("json", false, "print JSON instead of text")
		syntax := fs.Bool("syntax", false, "check the grammar only, not the sections (for listen addresses such as net:127.0.0.1:0~shs)")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 1 {
				e.errorf("want exactly one address argument, got %d (quote addresses: ';' and '~' are special in shells)", len(args))
				return exitUsage
			}
			return runAddr(e, args[0], *asJSON, *syntax)
		}
	},
}

// addrJSON is the --json output.
type addrJSON struct {
	Address      string    `json:"address"`
	Alternatives []altJSON `json:"alternatives"`
}

type altJSON struct {
	Address   string        `json:"address"`
	Stack     string        `json:"stack"`
	Canonical string        `json:"canonical,omitempty"` // when checked
	Checked   bool          `json:"checked"`             // every section known and valid
	Sections  []sectionJSON `json:"sections"`
}

type sectionJSON struct {
	Name    string   `json:"name"`
	Args    []string `json:"args"`
	ID      string   `json:"id,omitempty"`      // the @id of an shs key
	Meaning string   `json:"meaning,omitempty"` // what the stack reads in it, when checked
}

// A posError is an error at a byte position of the input.
type posError struct {
	input  string
	offset int
	err    error
}

func runAddr(e *env, in string, asJSON, syntaxOnly bool) int {
	out, perr := describe(in, syntaxOnly)
	if perr != nil {
		e.errorf("%v", perr.err)
		e.raw(fmt.Sprintf("  %s\n  %s^\n", caretSafe(msaddr.Redact(perr.input)), strings.Repeat(" ", caretColumn(perr.input, perr.offset))))
		return exitUsage
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			e.errorf("%v", err)
			return exitFailure
		}
		if syntaxOnly {
			return exitOK
		}
		return unknownStatus(e, out)
	}
	writeAddrText(e.stdout, out)
	if syntaxOnly {
		return exitOK
	}
	return unknownStatus(e, out)
}

// unknownStatus is exitUsage, with a message, when no alternative uses a
// stack ms knows: ms dial refuses such an address, so ms addr does too.
func unknownStatus(e *env, out *addrJSON) int {
	for _, a := range out.Alternatives {
		if a.Checked {
			return exitOK
		}
	}
	for _, a := range out.Alternatives {
		if !strings.Contains(a.Address, ":") || len(a.Stack) == 0 {
			continue
		}
		if strings.HasPrefix(a.Stack, "tcp") {
			e.errorf("no alternative uses a stack ms knows; the TCP transport is called net (net:HOST:PORT)")
			return exitUsage
		}
	}
	e.errorf("no alternative uses a stack ms knows (transports net, ws, wss, unix, onion, serial, dns; transforms shs, noauth)")
	return exitUsage
}

func writeAddrText(w io.Writer, out *addrJSON) {
	for i, a := range out.Alternatives {
		fmt.Fprintf(w, "alternative %d (%s): %s\n", i+1, a.Stack, a.Address)
		if a.Canonical != "" && a.Canonical != a.Address {
			fmt.Fprintf(w, "  canonical: %s\n", a.Canonical)
		}
		for _, s := range a.Sections {
			fmt.Fprintf(w, "  %s", s.Name)
			if s.Meaning != "" {
				fmt.Fprintf(w, " %s\n", s.Meaning)
				continue
			}
			for _, arg := range s.Args {
				fmt.Fprintf(w, " %s", strconv.Quote(arg))
			}
			if s.ID != "" {
				fmt.Fprintf(w, " (%s)", s.ID)
			}
			fmt.Fprintln(w)
		}
		if !a.Checked {
			fmt.Fprintln(w, "  (not checked: a section unknown to ms)")
		}
	}
}

// describe parses in and checks the sections ms knows. Because every
// escape in a valid address is needed, formatting the parsed address gives
// back the input byte for byte (FuzzOffsets checks it), so section offsets
// are found by summing formatted lengths.
func describe(in string, syntaxOnly bool) (*addrJSON, *posError) {
	m, err := msaddr.Parse(in)
	if err != nil {
		var se *msaddr.SyntaxError
		if errors.As(err, &se) {
			return nil, &posError{input: in, offset: se.Offset, err: err}
		}
		return nil, &posError{input: in, offset: 0, err: err}
	}
	transports, transforms := parsers()
	// Invite seeds are replaced by '*' in everything printed: output ends
	// up in terminals' scrollback, logs and bug reports.
	out := &addrJSON{Address: msaddr.Redact(m.String()), Alternatives: []altJSON{}}
	offs := offsets(m)
	for i, a := range m {
		alt := altJSON{Address: msaddr.Redact(a.String()), Stack: stackName(a), Checked: !syntaxOnly}
		canon := make(msaddr.Address, len(a))
		for j, s := range a {
			off := offs[i][j]
			sj := sectionJSON{Name: s.Name, Args: s.Redacted().Args}
			if sj.Args == nil {
				sj.Args = []string{}
			}
			table, role := transforms, "transform"
			if j == 0 {
				table, role = transports, "transport"
			}
			p, known := table[s.Name]
			switch {
			case syntaxOnly:
			case !known:
				alt.Checked = false
			default:
				c, err := p.Parse(s)
				if err != nil {
					at := argOffset(s, err, off)
					hint, hintAt := sectionHint(s, err, off)
					if hintAt >= 0 {
						at = hintAt
					}
					err = fmt.Errorf("alternative %d (%s), %s %q at byte %d: %w%s", i+1, alt.Stack, role, s.Name, at, err, hint)
					return nil, &posError{input: in, offset: at, err: err}
				}
				canon[j] = c
				sj.ID = sectionID(c)
				sj.Meaning = meaning(c)
			}
			alt.Sections = append(alt.Sections, sj)
		}
		if alt.Checked {
			alt.Canonical = msaddr.Redact(canon.String())
		}
		out.Alternatives = append(out.Alternatives, alt)
	}
	return out, nil
}

// meaning says what a stack reads in a checked section, in its terms:
// "host "::1" port 8008" for net:::1:8008, "url ws://h:2" for ws://h:2.
// It is "" where the raw fields say it as well.
func meaning(s msaddr.Section) string {
	switch s.Name {
	case "net", "onion":
		host, port, err := msaddr.HostPort(s)
		if err != nil {
			return ""
		}
		return fmt.Sprintf("host %s port %d", strconv.Quote(host), port)
	case "ws", "wss":
		return "url " + strconv.Quote(s.Name+":"+strings.Join(s.Args, ":"))
	case "unix":
		return "path " + strconv.Quote(strings.Join(s.Args, ":"))
	case "shs":
		if len(s.Args) == 0 {
			return ""
		}
		m := "server key " + sectionID(s)
		if len(s.Args) > 1 {
			m += " and an invite seed (*)"
		}
		return m
	}
	return ""
}

// argOffset points a section error at the argument it is about where that
// is known (a port is the last argument of a host-and-port section), else
// at the section.
func argOffset(s msaddr.Section, err error, off int) int {
	if len(s.Args) < 2 || !strings.Contains(err.Error(), "port") {
		return off
	}
	// The formatted section is the input byte for byte (see describe).
	f := s.String()
	last := msaddr.Section{Name: "x", Args: s.Args[len(s.Args)-1:]}.String()
	return off + len(f) - (len(last) - len("x:"))
}

// sectionHint adds what probably went wrong to a section error, and the
// byte it is about (-1: none in particular).
func sectionHint(s msaddr.Section, err error, off int) (string, int) {
	f := s.String()
	for _, t := range []string{"-shs", "-noauth", "+shs", "_shs"} {
		if i := strings.Index(f, t); i >= 0 {
			return "; sections of one alternative are joined with '~' (net:HOST:PORT~shs:KEY)", off + i
		}
	}
	if s.Name == "shs" && len(s.Args) == 0 || strings.Contains(err.Error(), "port 0") {
		return "; for a listen address (port 0, shs without a key), check with ms addr --syntax", -1
	}
	return "", -1
}

// offsets returns the byte offset of every section of m in m.String(),
// which is the input m was parsed from.
func offsets(m msaddr.Multi) [][]int {
	out := make([][]int, len(m))
	off := 0
	for i, a := range m {
		out[i] = make([]int, len(a))
		for j, s := range a {
			out[i][j] = off
			off += len(s.String()) + 1 // and the '~' or ';' after it
		}
	}
	return out
}

// checkDialAddr checks addrs as ms addr does and requires at least one
// alternative that ms can dial.
func checkDialAddr(addrs string) error {
	out, perr := describe(addrs, false)
	if perr != nil {
		return perr.err
	}
	for _, a := range out.Alternatives {
		if a.Checked {
			return nil
		}
	}
	return fmt.Errorf("no alternative of the address uses a stack ms knows")
}

// stackName is "net~shs" for net:h:1~shs:K.
func stackName(a msaddr.Address) string {
	names := make([]string, len(a))
	for i, s := range a {
		names[i] = s.Name
	}
	return strings.Join(names, "~")
}

// caretColumn is the column under which a caret points at byte off of s
// as printed by caretSafe.
func caretColumn(s string, off int) int {
	off = min(max(off, 0), len(s))
	return len([]rune(caretSafe(s[:off])))
}

// caretSafe shows control characters and invalid UTF-8 as '?' so the
// caret stays under the offending byte.
func caretSafe(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < 0x20 || r == 0x7f {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
