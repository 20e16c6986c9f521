package shs

import "github.com/go-multiserver/multiserver/stack"

var _ stack.PeerAuthenticator = (*Transform)(nil)

// AuthenticatesPeer returns true: the accepting side admits only clients
// that proved their key (and knew the server's key and the app key).
func (t *Transform) AuthenticatesPeer() bool { return true }
