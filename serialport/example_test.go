package serialport_test

import (
	"fmt"

	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/serialport"
)

func ExampleFormatSection() {
	// Colons and slashes in a device path need no escaping; '~' and '!'
	// are escaped with '!'.
	fmt.Println(serialport.FormatSection("/dev/rfcomm0", 0))
	fmt.Println(serialport.FormatSection("/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0", 115200))
	fmt.Println(serialport.FormatSection("/dev/odd~name", 9600))

	s, _ := msaddr.ParseSection("serial:/dev/ttyUSB0:115200")
	path, baud, _ := serialport.ParseSection(s)
	fmt.Println(path, baud)
	// Output:
	// serial:/dev/rfcomm0:0
	// serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0:115200
	// serial:/dev/odd!~name:9600
	// /dev/ttyUSB0 115200
}
