package serialport

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// List returns the serial ports of this machine, sorted by path.
//
// On Linux it reads sysfs (/sys/class/tty) and opens nothing: a port is
// listed if its tty has a device behind it (UART ports the kernel found no
// hardware for, type 0, are left out) or if it is an RFCOMM tty. USB
// details come from the USB device's sysfs attributes. (go.bug.st/serial's
// enumerator is not used on Linux: it opens /dev/ttyS* to see whether they
// are real, which resets their line settings to 9600 8N1, even on a port
// in use.) An RFCOMM tty is listed without USB details, even when the
// Bluetooth adapter behind it is a USB one.
//
// On Windows, and on macOS when built with cgo, List uses
// go.bug.st/serial/enumerator, which gives USB IDs. On macOS without cgo
// and on the BSDs it lists the call-out devices in /dev (macOS /dev/cu.*,
// FreeBSD, DragonFly and OpenBSD /dev/cua*, NetBSD /dev/dty*) without USB
// details. Elsewhere it returns an error wrapping stack.ErrNotSupported.
func List() ([]PortInfo, error) { return listSysfs("/sys/class/tty", "/dev") }

func listSysfs(class, dev string) ([]PortInfo, error) {
	ents, err := os.ReadDir(class)
	if err != nil {
		return nil, err
	}
	var out []PortInfo
	for _, e := range ents {
		name := e.Name()
		dir := filepath.Join(class, name)
		real, err := filepath.EvalSymlinks(filepath.Join(dir, "device"))
		if err != nil {
			if !isRFCOMM(name) {
				continue // a virtual tty: console, vt, pty
			}
		} else if t, err := readAttr(filepath.Join(dir, "type")); err == nil && t == "0" {
			continue // a UART slot with no hardware behind it
		}
		path := filepath.Join(dev, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		p := PortInfo{Path: path}
		// An RFCOMM tty's device, when it has one, is the Bluetooth
		// adapter: its USB IDs are not the port's.
		if real != "" && !isRFCOMM(name) {
			usbDetails(real, &p)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func isRFCOMM(name string) bool {
	n, ok := strings.CutPrefix(name, "rfcomm")
	if !ok || n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// usbDetails walks up from a tty's device directory to the USB device
// that holds idVendor (a USB-serial port's device is an interface's
// child, a CDC ACM port's device is the interface).
func usbDetails(dir string, p *PortInfo) {
	for range 4 {
		dir = filepath.Dir(dir)
		vid, err := readAttr(filepath.Join(dir, "idVendor"))
		if err != nil {
			continue
		}
		p.USB = true
		p.VID = hexID(vid)
		p.PID, _ = readAttr(filepath.Join(dir, "idProduct"))
		p.PID = hexID(p.PID)
		p.SerialNumber, _ = readAttr(filepath.Join(dir, "serial"))
		p.Manufacturer, _ = readAttr(filepath.Join(dir, "manufacturer"))
		p.Product, _ = readAttr(filepath.Join(dir, "product"))
		return
	}
}

func readAttr(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// hexID normalises a USB ID to lowercase hex.
func hexID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
