package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/serialport"
)

// TestSerialList checks that ms serial list prints what serialport.List
// finds on this machine (often nothing in a container, which is then
// what both must say).
func TestSerialList(t *testing.T) {
	t.Parallel()
	ports, err := serialport.List()
	if err != nil { // then ms must fail the same way
		code, _, stderr := runMS(t, nil, "serial", "list")
		if code != 1 || !strings.Contains(stderr, err.Error()) {
			t.Errorf("serialport.List fails with %v; ms serial list: exit %d, stderr %q", err, code, stderr)
		}
		return
	}
	var want strings.Builder
	for _, p := range ports {
		want.WriteString(portLine(p) + "\n")
	}
	code, stdout, stderr := runMS(t, nil, "serial", "list")
	if code != 0 || stdout != want.String() || stderr != "" {
		t.Errorf("ms serial list: exit %d, stdout %q, stderr %q; want 0 and %q", code, stdout, stderr, want.String())
	}
	code, stdout, _ = runMS(t, nil, "serial", "list", "--json")
	var got []portJSON
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || len(got) != len(ports) {
		t.Errorf("ms serial list --json: exit %d, %d ports (want %d), err %v:\n%s", code, len(got), len(ports), err, stdout)
	}
	for i := range min(len(got), len(ports)) {
		if got[i].Path != ports[i].Path {
			t.Errorf("port %d: path %q, want %q", i, got[i].Path, ports[i].Path)
		}
	}
	if code, _, _ := runMS(t, nil, "serial"); code != 2 {
		t.Errorf("ms serial without list: exit %d, want 2", code)
	}
}

func TestPortLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    serialport.PortInfo
		want string
	}{
		{serialport.PortInfo{Path: "/dev/ttyS0"}, "/dev/ttyS0"},
		{serialport.PortInfo{Path: "/dev/ttyUSB0", USB: true, VID: "0403", PID: "6001", Manufacturer: "FTDI", Product: "FT232R USB UART", SerialNumber: "A1"},
			`/dev/ttyUSB0 usb 0403:6001 "FTDI" "FT232R USB UART" serial="A1"`},
		{serialport.PortInfo{Path: "COM3", USB: true}, "COM3 usb"},
	}
	for _, tt := range tests {
		if got := portLine(tt.p); got != tt.want {
			t.Errorf("portLine(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
