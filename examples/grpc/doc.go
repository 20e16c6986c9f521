// Package msgrpc runs gRPC over multiserver stacks: a grpc.Server serves a
// multiserver Listener, a client dials a multiserver address such as
// net:10.0.0.2:8008~shs:<server key>, and handlers learn the caller's
// verified key.
//
// It lives in a module of its own (examples/grpc) so that the core module
// does not depend on gRPC.
//
// The server side is the usual code with one line changed: the listener.
//
//	ln, err := multiserver.Listen("net:127.0.0.1:8008~shs") // was net.Listen("tcp", "127.0.0.1:8008")
//	s := grpc.NewServer(grpc.Creds(msgrpc.NewCredentials()))
//	err = s.Serve(ln)
//
// The client passes the multiserver address through gRPC's name
// resolution untouched with the passthrough scheme and dials it with a
// multiserver Dialer:
//
//	var d multiserver.Dialer
//	cc, err := grpc.NewClient("passthrough:///"+addr,
//		grpc.WithContextDialer(d.DialContext),
//		grpc.WithTransportCredentials(msgrpc.NewCredentials()))
//
// The passthrough endpoint is the URL path of the target, so the address
// arrives at the dialer byte for byte: base64 keys with '/', '+' and '='
// and alternatives joined by ';' need no escaping. The :authority gRPC
// sends is derived from that address (percent-encoded where needed); set
// grpc.WithAuthority for a shorter one.
//
// NewCredentials does no handshake of its own: the stack's transforms (the
// shs handshake) have already run when gRPC gets the conn. It reports what
// they established as an AuthInfo, which handlers read with RemoteKey or
// peer.FromContext. With insecure.NewCredentials instead, everything works
// the same except that handlers see no AuthInfo; peer.Addr is the caller's
// multiserver address either way.
package msgrpc
