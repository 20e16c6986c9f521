//go:build windows || (darwin && cgo)

package serialport

import (
	"sort"
	"strings"

	"go.bug.st/serial/enumerator"
)

// List returns the serial ports of this machine, sorted by path; see the
// Linux documentation of List for the platform differences.
func List() ([]PortInfo, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]PortInfo, 0, len(ports))
	for _, p := range ports {
		if p.Name == "" {
			continue
		}
		out = append(out, PortInfo{
			Path: p.Name, USB: p.IsUSB, VID: hexID(p.VID), PID: hexID(p.PID),
			SerialNumber: p.SerialNumber, Manufacturer: p.Manufacturer, Product: p.Product,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// hexID normalises a USB ID to lowercase hex.
func hexID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
