//go:build unix

package tcp

import "github.com/libp2p/go-reuseport"

const reusePortSupported = true

var reusePortControl = reuseport.Control
