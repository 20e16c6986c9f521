//go:build !unix

package tcp

import "syscall"

const reusePortSupported = false

var reusePortControl func(network, address string, c syscall.RawConn) error
