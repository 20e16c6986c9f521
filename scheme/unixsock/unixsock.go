// Package unixsock is the multiserver "unix" transport: unix domain sockets.
//
// Addresses have the form unix:PATH; the path is everything after "unix:",
// colons included. On Linux a path starting with '@' names an abstract
// socket (no file, no permissions: pair it with noauth's peer-uid check).
//
// Unix sockets are reachable from this machine only, so listeners take the
// device scope only. Listen creates a missing parent directory with mode
// 0700 and sets the socket's mode to 0600 (configurable). A socket file left
// behind by a dead process is replaced, but only after a connect to it is
// refused; a socket a live process listens on is never taken over.
package unixsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// Name is the section name of this transport.
const Name = "unix"

// ErrInUse is returned by Listen when a live process listens on the path.
var ErrInUse = errors.New("unix: socket is in use by a live listener")

// Options configure the transport. The zero value is ready to use.
type Options struct {
	// Mode is the permission of the socket file; zero means 0600.
	Mode fs.FileMode
	// DirMode is the permission of a parent directory that Listen creates;
	// zero means 0700. Existing directories are left alone; those Listen
	// created are removed by the listener's Close if they are empty.
	DirMode fs.FileMode
}

// Transport is the "unix" transport. Create it with New.
type Transport struct {
	opts Options
}

var _ stack.Transport = (*Transport)(nil)

// New returns a "unix" transport; opts may be nil.
func New(opts *Options) *Transport {
	t := &Transport{}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.Mode == 0 {
		t.opts.Mode = 0o600
	}
	if t.opts.DirMode == 0 {
		t.opts.DirMode = 0o700
	}
	return t
}

// Name returns "unix".
func (t *Transport) Name() string { return Name }

func path(s msaddr.Section) (string, error) {
	if s.Name != Name {
		return "", fmt.Errorf("%w: %q is not a unix section", stack.ErrAddress, s.Name)
	}
	p := strings.Join(s.Args, ":")
	if p == "" {
		return "", fmt.Errorf("%w: unix: empty path", stack.ErrAddress)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: unix: NUL byte in path", stack.ErrAddress)
	}
	return p, nil
}

func abstract(p string) bool { return strings.HasPrefix(p, "@") }

func checkPlatform(p string) error {
	if abstract(p) && runtime.GOOS != "linux" && runtime.GOOS != "android" {
		return fmt.Errorf("%w: unix: abstract socket %q outside Linux", stack.ErrNotSupported, p)
	}
	return nil
}

// An endpoint is a parsed unix dial section: the socket's path.
type endpoint string

// Section returns the endpoint as a unix section.
func (ep endpoint) Section() msaddr.Section { return section(string(ep)) }

// Parse checks a unix section and returns its endpoint. The path is kept
// as written (relative paths are made absolute only by Listen).
func (t *Transport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	p, err := path(s)
	if err != nil {
		return nil, err
	}
	return endpoint(p), nil
}

func section(p string) msaddr.Section {
	// Split on ':' as JavaScript does, so that colons need no escaping.
	return msaddr.Section{Name: Name, Args: strings.Split(p, ":")}
}

// Dial connects to the socket at the path of e, an endpoint from Parse.
func (t *Transport) Dial(ctx context.Context, e stack.Endpoint) (net.Conn, error) {
	ep, ok := e.(endpoint)
	if !ok {
		return nil, fmt.Errorf("%w: unix: endpoint %T is not from unix's Parse", stack.ErrAddress, e)
	}
	p := string(ep)
	if err := checkPlatform(p); err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", p)
}

// Listen creates the socket at the path of s. Only the device scope fits.
func (t *Transport) Listen(ctx context.Context, s msaddr.Section, scopes []stack.Scope) (stack.Listener, error) {
	p, err := path(s)
	if err != nil {
		return nil, err
	}
	if err := checkPlatform(p); err != nil {
		return nil, err
	}
	for _, sc := range scopes {
		if sc != stack.Device {
			return nil, fmt.Errorf("%w: unix sockets are reachable from this device only, not from scope %s", stack.ErrScope, sc)
		}
	}
	if !abstract(p) {
		if p, err = filepath.Abs(p); err != nil {
			return nil, err
		}
	}
	var created []string
	if !abstract(p) {
		if created, err = mkdirs(filepath.Dir(p), t.opts.DirMode); err != nil {
			return nil, err
		}
	}
	ln, err := t.listen(ctx, p)
	if err != nil {
		removeDirs(created)
		return nil, err
	}
	if !abstract(p) && runtime.GOOS != "windows" {
		if err := os.Chmod(p, t.opts.Mode); err != nil {
			ln.Close()
			removeDirs(created)
			return nil, err
		}
	}
	return &listener{Listener: ln, path: p, created: created}, nil
}

// mkdirs creates dir and its missing parents with mode, returning the
// directories it created, deepest first.
func mkdirs(dir string, mode fs.FileMode) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		removeDirs(missing)
		return nil, err
	}
	return missing, nil
}

// removeDirs removes the directories Listen created, deepest first, as
// long as they are empty: a listener leaves behind no directory it made.
func removeDirs(dirs []string) {
	for _, d := range dirs {
		if os.Remove(d) != nil {
			return
		}
	}
}

func (t *Transport) listen(ctx context.Context, p string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", p)
	if err == nil || abstract(p) || !errors.Is(err, syscall.EADDRINUSE) {
		return ln, err
	}
	unlock, lerr := lockPath(p)
	if lerr != nil {
		return nil, lerr
	}
	defer unlock()
	// The file exists. A live listener answers; a stale file refuses.
	var d net.Dialer
	c, derr := d.DialContext(ctx, "unix", p)
	if derr == nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s", ErrInUse, p)
	}
	if !errors.Is(derr, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("unix: %s exists and is not a socket we can replace: %w", p, derr)
	}
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		return nil, fmt.Errorf("unix: %s exists and is not a socket: %w", p, err)
	}
	if err := os.Remove(p); err != nil {
		return nil, err
	}
	return lc.Listen(ctx, "unix", p)
}

// Section formats a *net.UnixAddr as unix:PATH. The unnamed client end of
// a connection formats as the bare section "unix".
func (t *Transport) Section(a net.Addr) (msaddr.Section, bool) {
	ua, ok := a.(*net.UnixAddr)
	if !ok || ua == nil {
		return msaddr.Section{}, false
	}
	if ua.Name == "" {
		return msaddr.Section{Name: Name}, true
	}
	return section(ua.Name), true
}

type listener struct {
	net.Listener
	path    string
	created []string // directories Listen made for the socket, deepest first
	once    sync.Once
}

// Close closes the listener, which removes the socket file, then the
// directories Listen created for it if they are empty.
func (l *listener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { removeDirs(l.created) })
	return err
}

// Advertise implements stack.Listener: unix:PATH for the device scope.
func (l *listener) Advertise(scope stack.Scope) []msaddr.Section {
	if scope != stack.Device {
		return nil
	}
	return []msaddr.Section{section(l.path)}
}
