// Package serialport is the multiserver "serial" transport: a point-to-point
// byte stream over a serial device, such as a USB or UART serial port or a
// Bluetooth RFCOMM tty (/dev/rfcommN made by "rfcomm bind").
//
// The transport is opt-in: add it to a Config to dial and listen on serial
// addresses next to the built-in ones.
//
//	cfg := multiserver.Config{Transports: []stack.Transport{serialport.New(nil)}}
//	d := multiserver.Dialer{Config: cfg}
//	conn, err := d.DialContext(ctx, "serial:/dev/rfcomm0:0~shs:"+serverKey)
//
//	lc := multiserver.ListenConfig{Config: cfg}
//	ln, err := lc.Listen(ctx, "serial:/dev/ttyUSB0:115200~shs")
//
// # Addresses
//
// A serial section names the device and the line speed:
//
//	serial:/dev/ttyUSB0:115200
//	serial:/dev/rfcomm0:115200~shs:<base64 key>
//	serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0:115200
//	serial:COM3:9600
//
// The baud rate is the last argument and is always present; everything
// before it, joined by ':', is the device path, so '/' and ':' in a path need
// no escaping. '~' and '!' in a path are escaped with '!' by msaddr. A path
// containing ';' is refused, since JavaScript multiserver splits addresses on
// ';' before it unescapes anything. A baud of 0 leaves the speed and the
// framing (character size, parity, stop bits, flow control) as they are,
// which is what a pty or a device configured by other means wants.
//
// Serial links are reachable from this machine only as far as addressing is
// concerned, so listeners take the device scope only.
//
// # Line settings
//
// Whatever the baud, the line discipline is made raw (no echo, no canonical
// mode, no signal characters, no CR/LF translation, no software flow
// control, no output processing), since the link carries binary data. With a
// baud above 0 the line is also set to 8N1 with the receiver enabled, modem
// control lines ignored (CLOCAL) and no hardware flow control, at that speed
// (on Linux, rates without a Bxxx constant are set with BOTHER; a rate the
// device refuses fails with ErrSpeed). Pseudo-terminals ignore the speed.
//
// # Unix
//
// On Linux, macOS and the BSDs the device is opened with
// O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC and configured with termios through
// golang.org/x/sys/unix; the file is handed to the Go runtime poller with
// os.NewFile. So conns have real deadlines, Close interrupts a blocked Read
// and a blocked Write, any file descriptor number works (there is no
// select(2) and so no limit at 1024), and a hang-up (the pty master closed,
// a USB adapter unplugged, an RFCOMM link dropped) reads as io.EOF.
//
// A device is opened exclusively: flock(LOCK_EX|LOCK_NB), which also stops
// root, plus TIOCEXCL, which stops other users' processes that do not flock
// (where the device file system has no advisory locks, TIOCEXCL alone). A
// second open, in this process or another, fails with an error that names
// the device and wraps ErrBusy. Stale input is discarded (tcflush TCIFLUSH)
// every time the device is opened, so bytes left over from an earlier
// session cannot corrupt the next handshake.
//
// A UART reports no end of file when the program at the far end dies,
// unless the DCD modem line is wired and CLOCAL is cleared (use baud 0 and
// configure the line yourself). Liveness must come from the protocol on top
// (shs and muxrpc timeouts), which can rely on the deadlines.
//
// The Unix implementation is tested on Linux over pseudo-terminals. The macOS
// and BSD builds share its code except for termios requests and speeds
// (rates above 230400 and other non-standard rates on macOS need
// IOSSIOSPEED, which is not implemented: they fail with ErrSpeed), and they
// have been compiled but not run.
//
// # Windows
//
// On Windows the I/O goes through go.bug.st/serial: 8N1, no flow control,
// DTR and RTS raised, input purged on open. COM ports are opened
// exclusively by Windows itself (a second open fails with ErrBusy). That
// library has no deadlines, so they are emulated: a Read waits in the
// driver in slices of at most 50 ms, so a read deadline (set before or
// during the Read) and Close are noticed at most about 50 ms late; a Write
// fails at once if its deadline has passed, and a Write still running when
// the deadline it started with passes is aborted by purging the output
// (PurgeComm), which discards what was not sent; Close ends a pending Read
// or Write by closing the handle. Windows needs an explicit baud: baud 0
// fails with ErrSpeed there. The Windows code compiles but has not been
// run.
//
// # Listening
//
// A serial link has one peer and no connect event, so both ends must be told
// their role: one end dials (the shs client) and the other listens (the shs
// server). A Listener holds one conn at a time. Listen opens the device, and
// fails at once if that fails for any reason other than the device being
// missing; the first Accept returns that conn. Accept then blocks until the
// conn it returned is closed; the next Accept opens the device again
// (flushing stale input) and returns a new conn. While the device is missing
// (a USB adapter unplugged, an RFCOMM tty not bound yet) Accept retries with
// exponential backoff (Options.RetryMin, RetryMax). Any other failure to
// re-open the device is returned as a temporary net.Error, and the next
// Accept tries again; the multiserver Listener retries such errors with
// backoff.
//
// A conn on which a handshake fails is closed by whoever ran the handshake
// (the multiserver Listener does), and that Close re-arms the Listener:
// garbage on the line never kills it.
//
// Close makes a blocked Accept, and every later one, return an error
// wrapping net.ErrClosed, and releases the device if no accepted conn holds
// it. As with every net.Listener, a conn already returned by Accept stays
// open until its owner closes it.
//
// A serial line has no connection boundaries: bytes of a session that are
// still on their way when the next session starts arrive in it, since the
// flush on open only drops what has already been received. End sessions
// cleanly (for shs: CloseWrite, then read to EOF, which waits for the
// peer's goodbye) and a new session starts on a quiet line; otherwise a
// client that dials at once may fail its handshake and must dial again.
//
// docs/serial-bluetooth.md in the repository shows how to run this
// transport over a Bluetooth RFCOMM link.
//
// # Listing ports
//
// List returns the serial ports of this machine, with USB vendor and product
// IDs where the platform offers them: from sysfs on Linux, from
// go.bug.st/serial's enumerator on Windows and macOS (with cgo), and from
// the call-out device names in /dev, without USB details, on macOS without
// cgo and on the BSDs. Listing never opens a port. See List.
package serialport
