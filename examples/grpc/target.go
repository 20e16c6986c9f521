package msgrpc

import "strings"

// Target returns the gRPC target that makes grpc.NewClient hand addr,
// byte for byte, to the dialer of grpc.WithContextDialer: addr after the
// passthrough scheme, with only the bytes a URL path cannot carry
// percent-encoded ('%', '?', '#', spaces, control and non-ASCII bytes;
// the URL parser decodes them again).
//
// For most addresses, net:HOST:PORT~shs:KEY included, that is just
// "passthrough:///" + addr; Target is needed for addresses holding '%',
// '?', '#' or control bytes, such as a ws URL with a query.
func Target(addr string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("passthrough:///")
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '?' || c == '#' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
