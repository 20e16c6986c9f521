package msgrpc_test

// The gRPC block of the repository's README.md, line for line, where the
// compiler sees it; the root package's TestREADMEGoBlocks checks that the
// README and this file agree.

import (
	"net"

	"google.golang.org/grpc"

	ms "github.com/go-multiserver/multiserver"
	msgrpc "github.com/go-multiserver/multiserver/examples/grpc"
)

var _ = readmeGRPC

func readmeGRPC(ln net.Listener) {
	s := grpc.NewServer(grpc.Creds(msgrpc.NewCredentials()))
	s.Serve(ln)          // ln from ms.Listen, as above
	var dialer ms.Dialer // zero value: a fresh client key per process
	cc, err := grpc.NewClient("passthrough:///net:10.0.0.2:8008~shs:<server key>",
		grpc.WithContextDialer(dialer.DialContext), grpc.WithTransportCredentials(msgrpc.NewCredentials()))
	_, _ = cc, err // not in README
}
