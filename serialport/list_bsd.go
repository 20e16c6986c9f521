//go:build (darwin && !cgo) || freebsd || openbsd || netbsd || dragonfly

package serialport

import "runtime"

// List returns the serial ports of this machine, sorted by path, without
// USB details; see the Linux documentation of List for the platform
// differences.
func List() ([]PortInfo, error) {
	return listDev("/dev", func(name string) bool { return serialDevName(runtime.GOOS, name) })
}
