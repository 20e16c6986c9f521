package multiserver

import (
	"crypto/ed25519"
	"crypto/subtle"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
	"github.com/go-multiserver/multiserver/stack"
)

// stackSet is the set of plugins of one Dialer or ListenConfig, by name.
// It is built and checked once and read concurrently afterwards.
type stackSet struct {
	transports map[string]stack.Transport
	transforms map[string]stack.Transform
}

// resolved holds the stackSet of a Dialer or ListenConfig, built from its
// Config on first use. Building it prepares the shs identity, which costs
// scalar multiplications, and makes the fresh identity of a nil
// Config.Identity: doing that once is what gives a Dialer or a
// ListenConfig one key.
type resolved struct {
	once sync.Once
	set  *stackSet
	err  error
}

// stacks returns the plugin set for c, building it on the first call.
func (r *resolved) stacks(c *Config) (*stackSet, error) {
	r.once.Do(func() { r.set, r.err = c.resolve() })
	return r.set, r.err
}

// resolve checks c and builds its plugin set: the built-ins, then c's own
// plugins replacing built-ins of the same name.
func (c *Config) resolve() (*stackSet, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	s := &stackSet{transports: map[string]stack.Transport{}, transforms: map[string]stack.Transform{}}
	for _, t := range defaultTransports() {
		s.transports[t.Name()] = t
	}
	for _, t := range defaultTransforms() {
		s.transforms[t.Name()] = t
	}
	if !c.replaces(shs.Name) {
		t, err := shs.NewTransform(&shs.Config{
			Identity:     c.Identity,
			AppKey:       c.AppKey,
			Authorize:    c.Authorize,
			MaxFrameSize: c.MaxFrameSize,
			// The Dialer and ListenConfig bound every handshake through
			// ctx (their HandshakeTimeout, same meaning); shs adds no
			// bound of its own.
			HandshakeTimeout: -1,
		})
		if err != nil { // c.check covers what shs checks; this is a backstop
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		s.transforms[shs.Name] = t
	}
	for _, t := range c.Transports {
		s.transports[t.Name()] = t
	}
	for _, t := range c.Transforms {
		s.transforms[t.Name()] = t
	}
	for i, t := range c.Transports {
		if _, ok := s.transforms[t.Name()]; ok {
			return nil, fmt.Errorf("%w: Config.Transports[%d] is named %q, the name of a transform; an address could not say which it means", ErrInvalidConfig, i, t.Name())
		}
	}
	for i, t := range c.Transforms {
		if _, ok := s.transports[t.Name()]; ok {
			return nil, fmt.Errorf("%w: Config.Transforms[%d] is named %q, the name of a transport; an address could not say which it means", ErrInvalidConfig, i, t.Name())
		}
	}
	return s, nil
}

// replaces reports whether c has its own transform named name.
func (c *Config) replaces(name string) bool {
	for _, t := range c.Transforms {
		if t.Name() == name {
			return true
		}
	}
	return false
}

// check reports the first field of c that no handshake could use. Its
// errors name the field and never contain key material.
func (c *Config) check() error {
	if c.Identity != nil {
		if len(c.Identity) != ed25519.PrivateKeySize {
			return fmt.Errorf("%w: Config.Identity is %d bytes, want %d (seed then public key, as ed25519.GenerateKey returns)", ErrInvalidConfig, len(c.Identity), ed25519.PrivateKeySize)
		}
		pub := ed25519.NewKeyFromSeed(c.Identity.Seed())[ed25519.SeedSize:]
		if subtle.ConstantTimeCompare(pub, c.Identity[ed25519.SeedSize:]) != 1 {
			return fmt.Errorf("%w: Config.Identity: its public half does not belong to its seed", ErrInvalidConfig)
		}
	}
	if c.AppKey != nil && len(c.AppKey) != 32 {
		return fmt.Errorf("%w: Config.AppKey is %d bytes, want 32 (nil means the main network key)", ErrInvalidConfig, len(c.AppKey))
	}
	if c.MaxFrameSize < 0 || c.MaxFrameSize > 65535 {
		return fmt.Errorf("%w: Config.MaxFrameSize %d is out of range 1..65535 (0 means %d)", ErrInvalidConfig, c.MaxFrameSize, shs.DefaultMaxFrameSize)
	}
	transports := map[string]int{}
	for i, t := range c.Transports {
		if t == nil {
			return fmt.Errorf("%w: Config.Transports[%d] is nil", ErrInvalidConfig, i)
		}
		name := t.Name()
		if err := checkPluginName(name); err != nil {
			return fmt.Errorf("%w: Config.Transports[%d]: %w", ErrInvalidConfig, i, err)
		}
		if j, dup := transports[name]; dup {
			return fmt.Errorf("%w: Config.Transports[%d] and [%d] are both named %q", ErrInvalidConfig, j, i, name)
		}
		transports[name] = i
	}
	transforms := map[string]int{}
	for i, t := range c.Transforms {
		if t == nil {
			return fmt.Errorf("%w: Config.Transforms[%d] is nil", ErrInvalidConfig, i)
		}
		name := t.Name()
		if err := checkPluginName(name); err != nil {
			return fmt.Errorf("%w: Config.Transforms[%d]: %w", ErrInvalidConfig, i, err)
		}
		if j, dup := transforms[name]; dup {
			return fmt.Errorf("%w: Config.Transforms[%d] and [%d] are both named %q", ErrInvalidConfig, j, i, name)
		}
		transforms[name] = i
	}
	return nil
}

// checkPluginName refuses a name no address section can carry.
func checkPluginName(name string) error {
	if name == "" {
		return fmt.Errorf("Name() is empty")
	}
	if strings.ContainsAny(name, "!~:;") {
		return fmt.Errorf("Name() %q contains one of the separators ! ~ : ;", name)
	}
	return nil
}

// lookup returns the plugins that the sections of alternative a name,
// for Dial and Listen alike. If one is unknown, the error wraps
// ErrNoStack and lists what st knows.
func (st *stackSet) lookup(a msaddr.Address) (stack.Transport, []stack.Transform, error) {
	t, ok := st.transports[a[0].Name]
	if !ok {
		return nil, nil, fmt.Errorf("%w: unknown transport %q; known %s", ErrNoStack, a[0].Name, st.known())
	}
	fs := make([]stack.Transform, 0, len(a)-1)
	for _, s := range a[1:] {
		f, ok := st.transforms[s.Name]
		if !ok {
			return nil, nil, fmt.Errorf("%w: unknown transform %q; known %s", ErrNoStack, s.Name, st.known())
		}
		fs = append(fs, f)
	}
	return t, fs, nil
}

// known lists the transports and transforms for error messages.
func (s *stackSet) known() string {
	var ts, fs []string
	for n := range s.transports {
		ts = append(ts, n)
	}
	for n := range s.transforms {
		fs = append(fs, n)
	}
	sort.Strings(ts)
	sort.Strings(fs)
	return "transports " + strings.Join(ts, ", ") + "; transforms " + strings.Join(fs, ", ")
}

// Plugins returns the transports and transforms d uses, by name: the
// built-ins, with those of d.Config in place of built-ins of the same
// name. Like Dial it checks the configuration and builds the plugins on
// first use; the error is the one Dial would return. The maps are d's to
// read, copied for the caller.
func (d *Dialer) Plugins() (transports map[string]stack.Transport, transforms map[string]stack.Transform, err error) {
	st, err := d.resolved.stacks(&d.Config)
	if err != nil {
		return nil, nil, err
	}
	return maps.Clone(st.transports), maps.Clone(st.transforms), nil
}
