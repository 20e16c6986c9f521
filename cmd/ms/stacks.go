package main

import (
	"fmt"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/serialport"
	"github.com/go-multiserver/multiserver/stack"
)

// extraTransports are the transports ms adds to the root package's
// defaults: serial, which the library leaves opt-in.
func extraTransports() []stack.Transport {
	return []stack.Transport{serialport.New(nil)}
}

// A sectionParser checks a dial section without I/O and returns its
// canonical form: the Parse method shared by transports and transforms.
type sectionParser interface {
	Parse(s msaddr.Section) (msaddr.Section, error)
}

// canonical is a plugin's Parse returning its endpoint's canonical
// section, which is all ms addr and the dns: pins need.
type canonical func(msaddr.Section) (stack.Endpoint, error)

func (parse canonical) Parse(s msaddr.Section) (msaddr.Section, error) {
	ep, err := parse(s)
	if err != nil {
		return msaddr.Section{}, err
	}
	if ep == nil {
		return msaddr.Section{}, fmt.Errorf("%w: the %s plugin's Parse returned no endpoint and no error", stack.ErrAddress, s.Name)
	}
	return ep.Section(), nil
}

// parsers returns the section checkers of the stacks ms dials, by name:
// transports first, then transforms. It asks the library, so it lists
// what ms dial would use.
func parsers() (transports, transforms map[string]sectionParser) {
	d := &ms.Dialer{Config: ms.Config{Transports: extraTransports()}}
	ts, fs, err := d.Plugins()
	if err != nil {
		panic(err) // cannot happen: ms's own configuration is valid
	}
	transports = map[string]sectionParser{
		dnsaddr.Name: dnsParser{}, // not a transport: ms dial resolves it first
	}
	for name, t := range ts {
		transports[name] = canonical(t.Parse)
	}
	transforms = map[string]sectionParser{}
	for name, f := range fs {
		transforms[name] = canonical(f.Parse)
	}
	return transports, transforms
}
