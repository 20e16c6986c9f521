//go:build (darwin && !cgo) || freebsd || openbsd

package serialport

import (
	"sort"

	"go.bug.st/serial"
)

// List returns the serial ports of this machine, sorted by path, without
// USB details; see the Linux documentation of List for the platform
// differences.
func List() ([]PortInfo, error) {
	names, err := serial.GetPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]PortInfo, len(names))
	for i, n := range names {
		out[i] = PortInfo{Path: n}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
