//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package serialport

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// listDev lists the character devices in dir whose names match, sorted by
// path, without opening them. It is List on the BSDs and on macOS without
// cgo, where device names say what is a serial port.
func listDev(dir string, match func(name string) bool) ([]PortInfo, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []PortInfo
	for _, e := range ents {
		if e.Type()&fs.ModeCharDevice == 0 || !match(e.Name()) {
			continue
		}
		out = append(out, PortInfo{Path: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// serialDevName reports whether a /dev entry is a serial port on goos: the
// call-out devices (which open without waiting for carrier), not their
// .init and .lock companions.
func serialDevName(goos, name string) bool {
	if strings.HasSuffix(name, ".init") || strings.HasSuffix(name, ".lock") {
		return false
	}
	switch goos {
	case "darwin":
		return strings.HasPrefix(name, "cu.")
	case "freebsd", "dragonfly", "openbsd":
		return strings.HasPrefix(name, "cua") && len(name) > 3
	case "netbsd":
		return strings.HasPrefix(name, "dty") && len(name) > 3
	}
	return false
}
