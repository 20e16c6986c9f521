package onion

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"

	"golang.org/x/net/proxy"
)

// SOCKS5 constants (RFC 1928, RFC 1929).
const (
	socksVersion   = 5
	methodNoAuth   = 0
	methodUserPass = 2
	methodNone     = 0xff
	cmdConnect     = 1
	atypIPv4       = 1
	atypDomain     = 3
	atypIPv6       = 4
)

// greeting returns the method selection message.
func greeting(auth *proxy.Auth) []byte {
	if auth != nil {
		return []byte{socksVersion, 2, methodNoAuth, methodUserPass}
	}
	return []byte{socksVersion, 1, methodNoAuth}
}

// readMethod reads the proxy's method choice.
func readMethod(r io.Reader, auth *proxy.Auth) (byte, error) {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	if b[0] != socksVersion {
		return 0, fmt.Errorf("%w: proxy answered with version %d, not 5", ErrProtocol, b[0])
	}
	switch {
	case b[1] == methodNoAuth, b[1] == methodUserPass && auth != nil:
		return b[1], nil
	case b[1] == methodNone:
		return 0, fmt.Errorf("%w: proxy accepts none of the offered authentication methods", ErrProtocol)
	}
	return 0, fmt.Errorf("%w: proxy chose method %d, which was not offered", ErrProtocol, b[1])
}

// userPass returns the RFC 1929 username/password message.
func userPass(auth *proxy.Auth) ([]byte, error) {
	if len(auth.User) == 0 || len(auth.User) > 255 || len(auth.Password) > 255 {
		return nil, fmt.Errorf("onion: SOCKS5 user name must be 1 to 255 bytes and password at most 255")
	}
	b := []byte{1, byte(len(auth.User))}
	b = append(b, auth.User...)
	b = append(b, byte(len(auth.Password)))
	return append(b, auth.Password...), nil
}

// readUserPassStatus reads the answer to userPass.
func readUserPassStatus(r io.Reader) error {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	if b[0] != 1 {
		return fmt.Errorf("%w: bad authentication reply version %d", ErrProtocol, b[0])
	}
	if b[1] != 0 {
		return fmt.Errorf("%w: proxy rejected the user name and password (status %d)", ErrProtocol, b[1])
	}
	return nil
}

// connectRequest returns the CONNECT message for host and port. A host that
// is an IP literal is sent as an address; any other host as a name, for
// the proxy to resolve.
func connectRequest(host string, port int) []byte {
	b := []byte{socksVersion, cmdConnect, 0}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Zone() == "" {
		if ip.Is4() || ip.Is4In6() {
			a := ip.Unmap().As4()
			b = append(append(b, atypIPv4), a[:]...)
		} else {
			a := ip.As16()
			b = append(append(b, atypIPv6), a[:]...)
		}
	} else {
		b = append(append(b, atypDomain, byte(len(host))), host...)
	}
	return binary.BigEndian.AppendUint16(b, uint16(port))
}

// readReply reads the reply to CONNECT. It returns the reply code; on a
// failure code the caller reports a *ReplyError. The bound address is read
// and dropped.
func readReply(r io.Reader) (byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err
	}
	if h[0] != socksVersion {
		return 0, fmt.Errorf("%w: reply with version %d, not 5", ErrProtocol, h[0])
	}
	if h[1] != 0 {
		// Tor closes after a failure reply; what follows does not matter.
		return h[1], nil
	}
	if h[2] != 0 {
		return 0, fmt.Errorf("%w: reserved reply byte is %d, not 0", ErrProtocol, h[2])
	}
	var n int
	switch h[3] {
	case atypIPv4:
		n = 4
	case atypIPv6:
		n = 16
	case atypDomain:
		var l [1]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return 0, err
		}
		n = int(l[0])
	default:
		return 0, fmt.Errorf("%w: reply with address type %d", ErrProtocol, h[3])
	}
	if _, err := io.ReadFull(r, make([]byte, n+2)); err != nil {
		return 0, err
	}
	return 0, nil
}
