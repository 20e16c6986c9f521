package onion_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/scheme/onion"
	"github.com/go-multiserver/multiserver/stack"
)

// Parse writes an onion section in canonical form; Listen refuses, since
// tor serves onion services.
func Example() {
	tr := onion.New(&onion.Options{Proxies: []string{"127.0.0.1:9050"}})
	s, _ := msaddr.ParseSection("onion:Example2gzyxa.ONION:8008")
	ep, err := tr.Parse(s)
	fmt.Println(ep.Section(), err)
	_, err = tr.Listen(context.Background(), ep.Section(), nil)
	fmt.Println(errors.Is(err, stack.ErrNotSupported))
	// Output:
	// onion:example2gzyxa.onion:8008 <nil>
	// true
}
