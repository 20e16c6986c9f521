package serialport

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Name is the section name of this transport.
const Name = "serial"

// MaxBaud is the largest baud rate an address may carry.
const MaxBaud = math.MaxInt32

// Errors reported by the transport. They are wrapped with the device path.
var (
	// ErrBusy reports a device that another open file holds (this process
	// or another one): the flock on it is taken, or the device refused a
	// second open (TIOCEXCL, or Windows' exclusive COM ports).
	ErrBusy = errors.New("serial: device is busy (opened by another process or conn)")
	// ErrNotTerminal reports a path that exists but is not a serial device
	// (not a tty).
	ErrNotTerminal = errors.New("serial: not a terminal device")
	// ErrSpeed reports a baud rate the platform or the device cannot set.
	ErrSpeed = errors.New("serial: unsupported baud rate")
)

// Options configure the transport. The zero value is ready to use.
type Options struct {
	// RetryMin is the first wait of a Listener's Accept after finding the
	// device missing; it doubles after every failed attempt up to
	// RetryMax. Zero means 50 ms.
	RetryMin time.Duration
	// RetryMax caps the wait between attempts to open a missing device.
	// Zero means 2 s.
	RetryMax time.Duration
}

// Transport is the "serial" transport. Create it with New.
type Transport struct {
	opts Options

	// onOpen, if set, is called after a Listener opened the device
	// (tests use it to know that stale input was flushed).
	onOpen func(path string)
}

func (t *Transport) opened(path string) {
	if t.onOpen != nil {
		t.onOpen(path)
	}
}

var _ stack.Transport = (*Transport)(nil)

// New returns a "serial" transport; opts may be nil.
func New(opts *Options) *Transport {
	t := &Transport{}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.RetryMin <= 0 {
		t.opts.RetryMin = 50 * time.Millisecond
	}
	if t.opts.RetryMax <= 0 {
		t.opts.RetryMax = 2 * time.Second
	}
	if t.opts.RetryMax < t.opts.RetryMin {
		t.opts.RetryMax = t.opts.RetryMin
	}
	return t
}

// Name returns "serial".
func (t *Transport) Name() string { return Name }

// Addr is the address of a serial conn or listener: the device path and the
// baud rate it was opened with. A serial link has no separate remote
// address, so a conn's LocalAddr and RemoteAddr are both the device.
type Addr struct {
	Path string
	Baud int
}

// Network returns "serial".
func (a *Addr) Network() string { return Name }

// String returns the device path.
func (a *Addr) String() string { return a.Path }

// Section returns the address as a serial section.
func (a *Addr) Section() msaddr.Section { return FormatSection(a.Path, a.Baud) }

// ParseSection reads the device path and baud rate of a serial section. The
// last argument is the baud rate (a decimal number from 0 to MaxBaud, 0
// meaning "leave the speed alone"); the arguments before it, joined by ':',
// are the path. Errors wrap stack.ErrAddress.
func ParseSection(s msaddr.Section) (path string, baud int, err error) {
	if s.Name != Name {
		return "", 0, fmt.Errorf("%w: %q is not a serial section", stack.ErrAddress, s.Name)
	}
	if len(s.Args) < 2 {
		return "", 0, fmt.Errorf("%w: serial: want serial:PATH:BAUD (the baud is always present; 0 leaves the speed alone)", stack.ErrAddress)
	}
	baud, err = parseBaud(s.Args[len(s.Args)-1])
	if err != nil {
		return "", 0, fmt.Errorf("%w: serial: %v", stack.ErrAddress, err)
	}
	path = strings.Join(s.Args[:len(s.Args)-1], ":")
	if err := checkPath(path); err != nil {
		return "", 0, fmt.Errorf("%w: serial: %v", stack.ErrAddress, err)
	}
	return path, baud, nil
}

func parseBaud(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty baud rate")
	}
	if len(s) > 10 {
		return 0, fmt.Errorf("baud rate %q out of range", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("baud rate %q is not a decimal number", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > MaxBaud {
		return 0, fmt.Errorf("baud rate %q out of range", s)
	}
	return int(n), nil
}

func checkPath(p string) error {
	if p == "" {
		return errors.New("empty device path")
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("device path %q is not valid UTF-8", p)
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == ';':
			return fmt.Errorf("device path %q contains ';', which no multiserver address can carry", p)
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("device path %q contains a control character", p)
		}
	}
	return nil
}

// FormatSection returns the canonical serial section for a device path and
// baud rate. The path is split on ':' the way JavaScript multiserver writes
// host-and-port sections, so colons in the path need no escaping; msaddr
// escapes '~' and '!' when the section is formatted.
func FormatSection(path string, baud int) msaddr.Section {
	args := strings.Split(path, ":")
	return msaddr.Section{Name: Name, Args: append(args, strconv.Itoa(baud))}
}

// An endpoint is a parsed serial dial section: a device and a baud rate.
type endpoint struct {
	path string
	baud int
}

// Section returns the endpoint as a canonical serial section.
func (ep endpoint) Section() msaddr.Section { return FormatSection(ep.path, ep.baud) }

// Parse checks a serial section and returns its endpoint, whose Section is
// the canonical form. It never does I/O.
func (t *Transport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	p, b, err := ParseSection(s)
	if err != nil {
		return nil, err
	}
	return endpoint{p, b}, nil
}

// Dial opens the device named by e, an endpoint from Parse, and returns
// the conn. It fails at once, without retrying, when the device is missing
// (the error wraps fs.ErrNotExist) or busy (ErrBusy).
func (t *Transport) Dial(ctx context.Context, e stack.Endpoint) (net.Conn, error) {
	ep, ok := e.(endpoint)
	if !ok {
		return nil, fmt.Errorf("%w: serial: endpoint %T is not from serial's Parse", stack.ErrAddress, e)
	}
	p, b := ep.path, ep.baud
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := openConn(p, b)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: Name, Addr: &Addr{Path: p, Baud: b}, Err: err}
	}
	return c, nil
}

// Listen returns a Listener on the device named by s; see the package
// documentation for the semantics. Only the device scope fits. Listen opens
// the device at once: a missing device is waited for by Accept, any other
// failure (busy, not a terminal, permission denied) is returned.
func (t *Transport) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	p, b, err := ParseSection(s)
	if err != nil {
		return nil, err
	}
	for _, sc := range scopes {
		if sc != stack.Device {
			return nil, fmt.Errorf("%w: serial links are advertised in the device scope only, not in scope %s", stack.ErrScope, sc)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t.listen(p, b)
}

// Section formats the address of a conn or listener of this transport as a
// serial section.
func (t *Transport) Section(a net.Addr) (msaddr.Section, bool) {
	sa, ok := a.(*Addr)
	if !ok || sa == nil {
		return msaddr.Section{}, false
	}
	return sa.Section(), true
}
