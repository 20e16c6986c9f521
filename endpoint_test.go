package multiserver_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/stack"
)

// onceEndpoint is onceTransport's endpoint; a pointer, so that the test
// can tell the one Parse made from any other.
type onceEndpoint struct{ s msaddr.Section }

func (e *onceEndpoint) Section() msaddr.Section { return e.s }

// onceTransport records the endpoints its Parse makes and the ones its
// Dial is given. Its Parse returns nil, nil for "once:nil".
type onceTransport struct {
	mu     sync.Mutex
	parsed []stack.Endpoint
	dialed []stack.Endpoint
}

func (*onceTransport) Name() string { return "once" }
func (t *onceTransport) Parse(s msaddr.Section) (stack.Endpoint, error) {
	if len(s.Args) == 1 && s.Args[0] == "nil" {
		return nil, nil
	}
	ep := &onceEndpoint{msaddr.Section{Name: "once", Args: s.Args}}
	t.mu.Lock()
	t.parsed = append(t.parsed, ep)
	t.mu.Unlock()
	return ep, nil
}
func (t *onceTransport) Dial(ctx context.Context, ep stack.Endpoint) (net.Conn, error) {
	t.mu.Lock()
	t.dialed = append(t.dialed, ep)
	t.mu.Unlock()
	return nil, errors.New("onceTransport connects nowhere")
}
func (*onceTransport) Listen(context.Context, msaddr.Section, []stack.Scope) (stack.Listener, error) {
	return nil, stack.ErrNotSupported
}
func (*onceTransport) Section(net.Addr) (msaddr.Section, bool) { return msaddr.Section{}, false }

// TestDialParsesOnce: each alternative's section is parsed once, and Dial
// gets the very endpoint Parse returned (issue 13, "parse once").
func TestDialParsesOnce(t *testing.T) {
	tr := &onceTransport{}
	d := &ms.Dialer{Config: ms.Config{Transports: []stack.Transport{tr}}}
	if _, err := d.DialContext(context.Background(), "once:a;once:b"); err == nil {
		t.Fatal("dial through a transport that connects nowhere succeeded")
	}
	if len(tr.parsed) != 2 || len(tr.dialed) != 2 {
		t.Fatalf("Parse made %d endpoints, Dial got %d; want 2 and 2", len(tr.parsed), len(tr.dialed))
	}
	for _, got := range tr.dialed {
		if got != tr.parsed[0] && got != tr.parsed[1] {
			t.Errorf("Dial got %v, not an endpoint Parse returned", got)
		}
	}
	if tr.dialed[0] == tr.dialed[1] {
		t.Error("both alternatives dialed with one endpoint")
	}
}

// TestDialNilEndpoint: a plugin whose Parse returns neither an endpoint
// nor an error gets an error naming it, not a panic.
func TestDialNilEndpoint(t *testing.T) {
	tr := &onceTransport{}
	d := &ms.Dialer{Config: ms.Config{Transports: []stack.Transport{tr}}}
	_, err := d.DialContext(context.Background(), "once:nil")
	if !errors.Is(err, stack.ErrAddress) {
		t.Fatalf("dial of a nil endpoint: %v; want an error wrapping stack.ErrAddress", err)
	}
	if len(tr.dialed) != 0 {
		t.Errorf("Dial called %d times with a nil endpoint", len(tr.dialed))
	}
}
