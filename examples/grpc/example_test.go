package msgrpc_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"log"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	ms "github.com/go-multiserver/multiserver"
	msgrpc "github.com/go-multiserver/multiserver/examples/grpc"
)

// A gRPC server on net~shs and a client dialing its advertised address,
// net:127.0.0.1:PORT~shs:<server key>. The server sees the key the client
// proved in the handshake.
func Example() {
	// Server: the one line that changes is the listener.
	// ln, err := net.Listen("tcp", "127.0.0.1:8008")
	ln, err := ms.Listen("net:127.0.0.1:0~shs")
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(
		grpc.Creds(msgrpc.NewCredentials()),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			key := base64.StdEncoding.EncodeToString(msgrpc.RemoteKey(ctx))
			fmt.Println(info.FullMethod, "called by", key)
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(s, health.NewServer())
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	defer func() { s.Stop(); <-done }()

	// Client: a fixed identity, so the output is stable.
	id := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{'a'}, 32))
	d := &ms.Dialer{Config: ms.Config{Identity: id}}
	cc, err := grpc.NewClient(msgrpc.Target(ln.Addr().String()),
		grpc.WithContextDialer(d.DialContext),
		grpc.WithTransportCredentials(msgrpc.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
	// Output:
	// /grpc.health.v1.Health/Check called by rwaj4ykXFOTzVsGcmxXNGVHsbmZiqne+B1R/KJODNB0=
	// SERVING
}
