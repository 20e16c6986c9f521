package serialport

// PortInfo describes a serial port found by List.
type PortInfo struct {
	// Path names the port as a serial section wants it: a device path
	// such as /dev/ttyUSB0 on Unix, a name such as COM3 on Windows.
	Path string
	// USB reports a USB serial adapter (or a USB CDC ACM device).
	USB bool
	// VID and PID are the USB vendor and product IDs as four lowercase
	// hex digits, empty when unknown.
	VID, PID string
	// SerialNumber, Manufacturer and Product are the USB descriptor
	// strings, empty when unknown or not offered by the platform.
	SerialNumber, Manufacturer, Product string
}

// Section returns the serial section that opens the port at baud.
func (p PortInfo) Section(baud int) string { return FormatSection(p.Path, baud).String() }
