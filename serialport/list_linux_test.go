package serialport

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestListSysfs runs List's Linux code over a made-up sysfs: a USB-serial
// adapter (ttyUSB0), a CDC ACM device (ttyACM0), a real UART (ttyS0), a
// UART slot with no hardware (ttyS1), RFCOMM ttys with and without a
// device link (the Bluetooth adapter), a virtual console, and a port whose
// /dev node is missing.
func TestListSysfs(t *testing.T) {
	root := t.TempDir()
	class := filepath.Join(root, "class/tty")
	dev := filepath.Join(root, "dev")
	usb := filepath.Join(root, "devices/pci0000:00/usb1/1-1")
	acm := filepath.Join(root, "devices/pci0000:00/usb1/1-2")
	mkfile := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mkdir := func(p string) {
		t.Helper()
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		mkdir(filepath.Dir(p))
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	mkfile(filepath.Join(usb, "idVendor"), "0403\n")
	mkfile(filepath.Join(usb, "idProduct"), "6001\n")
	mkfile(filepath.Join(usb, "serial"), "A50285BI\n")
	mkfile(filepath.Join(usb, "manufacturer"), "FTDI\n")
	mkfile(filepath.Join(usb, "product"), "FT232R USB UART\n")
	mkdir(filepath.Join(usb, "1-1:1.0/ttyUSB0"))
	mkfile(filepath.Join(acm, "idVendor"), "2341\n")
	mkfile(filepath.Join(acm, "idProduct"), "0043\n")
	mkdir(filepath.Join(acm, "1-2:1.0"))
	mkdir(filepath.Join(root, "devices/platform/serial8250/tty"))

	for name, target := range map[string]string{
		"ttyUSB0": filepath.Join(usb, "1-1:1.0/ttyUSB0"),
		"ttyACM0": filepath.Join(acm, "1-2:1.0"),
		"ttyS0":   filepath.Join(root, "devices/platform/serial8250/tty"),
		"ttyS1":   filepath.Join(root, "devices/platform/serial8250/tty"),
		"ttyUSB9": filepath.Join(usb, "1-1:1.0/ttyUSB0"),
	} {
		link(target, filepath.Join(class, name, "device"))
	}
	mkfile(filepath.Join(class, "ttyS0/type"), "4\n")
	mkfile(filepath.Join(class, "ttyS1/type"), "0\n")
	// rfcomm1's device is a USB Bluetooth adapter (hci0).
	mkdir(filepath.Join(usb, "1-1:1.0/bluetooth/hci0"))
	link(filepath.Join(usb, "1-1:1.0/bluetooth/hci0"), filepath.Join(class, "rfcomm1", "device"))
	mkdir(filepath.Join(class, "rfcomm0"))
	mkdir(filepath.Join(class, "rfcommX"))
	mkdir(filepath.Join(class, "tty1"))
	for _, n := range []string{"ttyUSB0", "ttyACM0", "ttyS0", "ttyS1", "rfcomm0", "rfcomm1", "rfcommX", "tty1"} {
		mkfile(filepath.Join(dev, n), "")
	}

	got, err := listSysfs(class, dev)
	if err != nil {
		t.Fatal(err)
	}
	want := []PortInfo{
		{Path: filepath.Join(dev, "rfcomm0")},
		{Path: filepath.Join(dev, "rfcomm1")},
		{Path: filepath.Join(dev, "ttyACM0"), USB: true, VID: "2341", PID: "0043"},
		{Path: filepath.Join(dev, "ttyS0")},
		{Path: filepath.Join(dev, "ttyUSB0"), USB: true, VID: "0403", PID: "6001", SerialNumber: "A50285BI", Manufacturer: "FTDI", Product: "FT232R USB UART"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listSysfs:\n got %+v\nwant %+v", got, want)
	}
	if s := want[4].Section(115200); s != "serial:"+filepath.Join(dev, "ttyUSB0")+":115200" {
		t.Errorf("Section = %s", s)
	}
}

// TestListHere runs List on this machine; it must not fail (what it finds
// depends on the machine).
func TestListHere(t *testing.T) {
	ports, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		t.Logf("%+v", p)
	}
}

func TestListDev(t *testing.T) {
	// /dev/null and friends are character devices; a regular file named
	// like a port is not listed.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cuaU0"), nil, 0o600)
	got, err := listDev(dir, func(string) bool { return true })
	if err != nil || len(got) != 0 {
		t.Fatalf("listDev of regular files = %v, %v; want none", got, err)
	}
	got, err = listDev("/dev", func(n string) bool { return n == "null" || n == "zero" })
	if err != nil || !reflect.DeepEqual(got, []PortInfo{{Path: "/dev/null"}, {Path: "/dev/zero"}}) {
		t.Fatalf("listDev(/dev) = %v, %v", got, err)
	}
	for _, tc := range []struct {
		goos, name string
		want       bool
	}{
		{"darwin", "cu.usbserial-A50285BI", true},
		{"darwin", "tty.usbserial-A50285BI", false},
		{"darwin", "cu.Bluetooth-Incoming-Port", true},
		{"freebsd", "cuaU0", true},
		{"freebsd", "cuau0", true},
		{"freebsd", "cuaU0.init", false},
		{"freebsd", "cuaU0.lock", false},
		{"freebsd", "ttyU0", false},
		{"freebsd", "cua", false},
		{"openbsd", "cua00", true},
		{"openbsd", "cuaU0", true},
		{"netbsd", "dty00", true},
		{"netbsd", "tty00", false},
		{"dragonfly", "cuaa0", true},
		{"linux", "ttyUSB0", false},
	} {
		if got := serialDevName(tc.goos, tc.name); got != tc.want {
			t.Errorf("serialDevName(%s, %s) = %v, want %v", tc.goos, tc.name, got, tc.want)
		}
	}
}
