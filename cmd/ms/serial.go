package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/go-multiserver/multiserver/serialport"
)

var serialCmd = &command{
	name:    "serial",
	sub:     "list",
	summary: "list the serial ports of this machine",
	detail: `List the serial ports, one per line: the path a serial section takes (such
as /dev/ttyUSB0 or COM3), then for USB adapters "usb VID:PID" and the
manufacturer, product and serial number when known. No ports: no output.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		asJSON := fs.Bool("json", false, "print a JSON array of ports instead of text")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 0 {
				e.errorf("unexpected arguments %q", args)
				return exitUsage
			}
			ports, err := serialport.List()
			if err != nil {
				e.errorf("%v", err)
				return exitFailure
			}
			if *asJSON {
				return writeJSON(e, portsJSON(ports))
			}
			for _, p := range ports {
				fmt.Fprintln(e.stdout, portLine(p))
			}
			return exitOK
		}
	},
}

// portJSON is one port of the --json output.
type portJSON struct {
	Path         string `json:"path"`
	USB          bool   `json:"usb"`
	VID          string `json:"vid,omitempty"`
	PID          string `json:"pid,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
}

func portsJSON(ports []serialport.PortInfo) []portJSON {
	out := make([]portJSON, 0, len(ports))
	for _, p := range ports {
		out = append(out, portJSON{p.Path, p.USB, p.VID, p.PID, p.Manufacturer, p.Product, p.SerialNumber})
	}
	return out
}

// portLine is the text form of a port: the path first, for scripts.
func portLine(p serialport.PortInfo) string {
	f := []string{p.Path}
	if p.USB {
		f = append(f, "usb")
		if p.VID != "" || p.PID != "" {
			f = append(f, p.VID+":"+p.PID)
		}
	}
	for _, s := range []string{p.Manufacturer, p.Product} {
		if s != "" {
			f = append(f, fmt.Sprintf("%q", s))
		}
	}
	if p.SerialNumber != "" {
		f = append(f, "serial="+fmt.Sprintf("%q", p.SerialNumber))
	}
	return strings.Join(f, " ")
}

func writeJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		e.errorf("%v", err)
		return exitFailure
	}
	return exitOK
}
