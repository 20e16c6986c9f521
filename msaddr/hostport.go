package msaddr

import (
	"fmt"
	"strconv"
	"strings"
)

// HostPort reads the host and port of a host-and-port section such as
// "net:example.com:8008", "net:::1:8008", "net:[::1]:8008" or
// "net:fe80::1%eth0:8008": the last argument is the port and the arguments
// before it, joined by ':', are the host. Brackets around an IPv6 host are
// removed. An empty host is returned as "".
//
// The port must be a decimal number from 0 to 65535. Errors wrap ErrSyntax;
// their text starts with the section name ("net: port ...").
func HostPort(s Section) (host string, port int, err error) {
	if len(s.Args) < 2 {
		return "", 0, fieldErrorf("%s: want %s:HOST:PORT", s.Name, s.Name)
	}
	last := s.Args[len(s.Args)-1]
	port, err = ParsePort(last)
	if err != nil {
		return "", 0, fieldErrorf("%s: %v", s.Name, err)
	}
	host = strings.Join(s.Args[:len(s.Args)-1], ":")
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") || strings.Count(host, "[") != 1 || strings.Count(host, "]") != 1 {
			return "", 0, fieldErrorf("%s: unbalanced brackets in host %q", s.Name, host)
		}
		host = host[1 : len(host)-1]
		if !strings.Contains(host, ":") {
			return "", 0, fieldErrorf("%s: brackets around a host that is not IPv6: %q", s.Name, host)
		}
	} else if strings.ContainsAny(host, "[]") {
		return "", 0, fieldErrorf("%s: stray bracket in host %q", s.Name, host)
	}
	return host, port, nil
}

// A fieldError is a bad field of a section. It is ErrSyntax, but its
// message names only the section and the field: the plugin that reports it
// already says that the address section is invalid, and one prefix is
// enough.
type fieldError struct{ msg string }

func fieldErrorf(format string, args ...any) error {
	return &fieldError{fmt.Sprintf(format, args...)}
}

func (e *fieldError) Error() string { return e.msg }
func (e *fieldError) Unwrap() error { return ErrSyntax }

// ParsePort parses a decimal port number from 0 to 65535. Unlike the
// JavaScript Number() it accepts no signs, spaces, hex or exponents.
func ParsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	if len(s) > 5 {
		return 0, fmt.Errorf("port %q out of range", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("port %q is not a decimal number", s)
		}
	}
	n, _ := strconv.Atoi(s)
	if n > 65535 {
		return 0, fmt.Errorf("port %d out of range", n)
	}
	return n, nil
}

// HostPortSection builds a host-and-port section the way JavaScript
// multiserver writes it: an IPv6 host unbracketed, so that "::1" and 8008
// give "net:::1:8008". A zone ("%eth0") is kept; strip it first if the
// address is meant for other machines.
func HostPortSection(name, host string, port int) Section {
	args := strings.Split(host, ":")
	return Section{Name: name, Args: append(args, strconv.Itoa(port))}
}
