package msgrpc_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	ms "github.com/go-multiserver/multiserver"
	msgrpc "github.com/go-multiserver/multiserver/examples/grpc"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	serverKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x53}, 32))
	clientKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x43}, 32))
)

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// The test service, written by hand so that no protoc is needed:
//
//	service Test {
//	  rpc Whoami(google.protobuf.Empty) returns (google.protobuf.StringValue);
//	  rpc Echo(stream google.protobuf.BytesValue) returns (stream google.protobuf.BytesValue);
//	}
//
// Whoami answers with what the server knows of the caller.
var testService = grpc.ServiceDesc{
	ServiceName: "multiserver.test.Test",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Whoami",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) { return wrapperspb.String(whoami(ctx)), nil }
			if interceptor == nil {
				return h(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/multiserver.test.Test/Whoami"}, h)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Echo",
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			// The first message is what the server knows of the caller.
			if err := stream.SendMsg(wrapperspb.Bytes([]byte(whoami(stream.Context())))); err != nil {
				return err
			}
			for {
				m := new(wrapperspb.BytesValue)
				if err := stream.RecvMsg(m); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
				if err := stream.SendMsg(m); err != nil {
					return err
				}
			}
		},
	}},
}

// whoami reports the caller's key (from AuthInfo), the SecurityLevel and
// the peer address.
func whoami(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "no peer"
	}
	key := "none"
	if k := msgrpc.RemoteKey(ctx); k != nil {
		key = string(keyText(k))
	}
	level := "no authinfo"
	if ai, ok := p.AuthInfo.(msgrpc.AuthInfo); ok {
		level = ai.SecurityLevel.String()
	}
	return "key=" + key + " level=" + level + " addr=" + p.Addr.String()
}

func keyText(k ed25519.PublicKey) []byte {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 2*len(k))
	for _, c := range k {
		out = append(out, hex[c>>4], hex[c&15])
	}
	return out
}

func shortDir(t *testing.T) string {
	// t.TempDir paths can exceed the 104/108-byte sun_path limit.
	d, err := os.MkdirTemp("", "msgrpc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// serve runs a grpc.Server with the test service over an ms listener on
// addrs until the test ends.
func serve(t *testing.T, lc *ms.ListenConfig, addrs string) *ms.Listener {
	t.Helper()
	ln, err := lc.Listen(context.Background(), addrs)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addrs, err)
	}
	s := grpc.NewServer(grpc.Creds(msgrpc.NewCredentials()))
	s.RegisterService(&testService, nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln
}

// client returns a ClientConn to target whose dialer records the
// addresses gRPC hands it.
func client(t *testing.T, d *ms.Dialer, target string, dialed chan<- string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			if dialed != nil {
				select {
				case dialed <- addr:
				default:
				}
			}
			return d.DialContext(ctx, addr)
		}),
		grpc.WithTransportCredentials(msgrpc.NewCredentials()),
	}, opts...)
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", target, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

type stackCase struct {
	name, listen string
	wantKey      bool // the stack authenticates keys (shs)
}

func stacks(t *testing.T) []stackCase {
	return []stackCase{
		{"net+noauth", "net:127.0.0.1:0~noauth", false},
		{"unix+noauth", "unix:" + filepath.Join(shortDir(t), "g.sock") + "~noauth", false},
		{"net+shs", "net:127.0.0.1:0~shs", true},
		{"ws+shs", "ws://127.0.0.1:0~shs", true},
	}
}

func TestUnaryAndStream(t *testing.T) {
	for _, tt := range stacks(t) {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.HasPrefix(tt.listen, "unix:") {
				t.Skip("noauth refuses unix peers on Windows, where it cannot tell the peer's user")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ln := serve(t, &ms.ListenConfig{Config: ms.Config{Identity: serverKey}}, tt.listen)
			addr := ln.Addr().String()
			dialed := make(chan string, 1)
			cc := client(t, &ms.Dialer{Config: ms.Config{Identity: clientKey}}, "passthrough:///"+addr, dialed)

			wantKey, wantLevel := "none", credentials.NoSecurity.String()
			if tt.wantKey {
				wantKey = string(keyText(pub(clientKey)))
				wantLevel = credentials.PrivacyAndIntegrity.String()
			}
			want := "key=" + wantKey + " level=" + wantLevel + " addr="

			// Unary.
			var p peer.Peer
			out := new(wrapperspb.StringValue)
			if err := cc.Invoke(ctx, "/multiserver.test.Test/Whoami", &emptypb.Empty{}, out, grpc.Peer(&p)); err != nil {
				t.Fatalf("Whoami: %v", err)
			}
			if !strings.HasPrefix(out.Value, want) {
				t.Errorf("Whoami: server saw %q, want prefix %q", out.Value, want)
			}
			if got := <-dialed; got != addr {
				t.Errorf("gRPC dialed %q, want the address %q intact", got, addr)
			}
			if tt.wantKey {
				if ai, ok := p.AuthInfo.(msgrpc.AuthInfo); !ok || !ai.RemoteKey.Equal(pub(serverKey)) {
					t.Errorf("client-side AuthInfo = %#v, want the server's key", p.AuthInfo)
				}
			}
			if got := p.Addr.String(); got != addr {
				t.Errorf("client-side peer.Addr = %q, want %q", got, addr)
			}

			// Bidirectional streaming, with messages larger than one shs
			// packet (4096 bytes) and than one HTTP/2 frame (16 KiB).
			stream, err := cc.NewStream(ctx, &testService.Streams[0], "/multiserver.test.Test/Echo")
			if err != nil {
				t.Fatalf("Echo: %v", err)
			}
			first := new(wrapperspb.BytesValue)
			if err := stream.RecvMsg(first); err != nil {
				t.Fatalf("Echo: first message: %v", err)
			}
			if !strings.HasPrefix(string(first.Value), want) {
				t.Errorf("Echo: server saw %q, want prefix %q", first.Value, want)
			}
			for _, n := range []int{0, 1, 4095, 4097, 100 << 10, 1 << 20} {
				msg := bytes.Repeat([]byte("multiserver!"), n/12+1)[:n]
				if err := stream.SendMsg(wrapperspb.Bytes(msg)); err != nil {
					t.Fatalf("Echo: send %d bytes: %v", n, err)
				}
				got := new(wrapperspb.BytesValue)
				if err := stream.RecvMsg(got); err != nil {
					t.Fatalf("Echo: receive %d bytes: %v", n, err)
				}
				if !bytes.Equal(got.Value, msg) {
					t.Fatalf("Echo: %d bytes came back as %d different bytes", n, len(got.Value))
				}
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if err := stream.RecvMsg(new(wrapperspb.BytesValue)); err != io.EOF {
				t.Fatalf("Echo: after CloseSend got %v, want io.EOF", err)
			}
		})
	}
}

// TestTargetKeepsAddress checks that gRPC hands the dialer the
// multiserver address exactly as given, for "passthrough:///"+addr and for
// Target(addr).
func TestTargetKeepsAddress(t *testing.T) {
	tests := []struct {
		addr  string
		plain bool // "passthrough:///"+addr works as is
	}{
		{"net:127.0.0.1:9~shs:/+8a0JzmjSsR4shVxzXfN3kBGdvt0TiHdl9z5JFkk=", true},
		{"net:127.0.0.1:9~shs:ab+/cd==;ws://127.0.0.1:9/p/q~shs:ef/+gh==", true},
		{"net:::1:9~shs:a!:b!~c!!d", true},
		{"unix:/run/my app/sock~noauth", true},
		{"ws://127.0.0.1:9/x?token=1&y=2~shs:k/+=", false},
		{"ws://127.0.0.1:9/x#frag~noauth", false},
		{"unix:/tmp/100%/sock~noauth", false},
		{"unix:/tmp/a\tb~noauth", false},
		{"unix:/tmp/s\u00e9~noauth", true},
	}
	errNoDial := errors.New("not dialing in this test")
	for _, tt := range tests {
		targets := []string{msgrpc.Target(tt.addr)}
		if tt.plain {
			targets = append(targets, "passthrough:///"+tt.addr)
		}
		for _, target := range targets {
			dialed := make(chan string, 1)
			cc, err := grpc.NewClient(target,
				grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
					select {
					case dialed <- addr:
					default:
					}
					return nil, errNoDial
				}),
				grpc.WithTransportCredentials(msgrpc.NewCredentials()))
			if err != nil {
				t.Errorf("NewClient(%q): %v", target, err)
				continue
			}
			cc.Connect()
			select {
			case got := <-dialed:
				if got != tt.addr {
					t.Errorf("NewClient(%q) dialed %q, want %q", target, got, tt.addr)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("NewClient(%q) did not dial within 10s", target)
			}
			cc.Close()
		}
	}
}

// TestUnreachable checks that an RPC to an address nobody listens on
// fails with codes.Unavailable naming the multiserver dial error.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "net:" + ln.Addr().String() + "~noauth"
	ln.Close() // nobody listens there now
	cc := client(t, &ms.Dialer{}, msgrpc.Target(addr), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = cc.Invoke(ctx, "/multiserver.test.Test/Whoami", &emptypb.Empty{}, new(wrapperspb.StringValue))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "multiserver: dial failed") {
		t.Fatalf("Whoami to a closed port: %v; want Unavailable with the multiserver dial error", err)
	}
	t.Logf("error seen by the caller: %v", err)
}

// TestAuthorize checks that the value the listener's Authorize returns
// reaches the handler as AuthInfo.Auth, and that a refused client gets a
// clear error.
func TestAuthorize(t *testing.T) {
	type role string
	lc := &ms.ListenConfig{Config: ms.Config{
		Identity: serverKey,
		Authorize: func(ctx context.Context, remote ed25519.PublicKey) (any, error) {
			if remote.Equal(pub(clientKey)) {
				return role("admin"), nil
			}
			return nil, errors.New("not on the list")
		},
	}}
	ln, err := lc.Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		t.Fatal(err)
	}
	roles := make(chan any, 1)
	s := grpc.NewServer(grpc.Creds(msgrpc.NewCredentials()),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			p, _ := peer.FromContext(ctx)
			roles <- p.AuthInfo.(msgrpc.AuthInfo).Auth
			return h(ctx, req)
		}))
	s.RegisterService(&testService, nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	defer func() { s.Stop(); <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc := client(t, &ms.Dialer{Config: ms.Config{Identity: clientKey}}, "passthrough:///"+ln.Addr().String(), nil)
	if err := cc.Invoke(ctx, "/multiserver.test.Test/Whoami", &emptypb.Empty{}, new(wrapperspb.StringValue)); err != nil {
		t.Fatalf("Whoami as the admitted client: %v", err)
	}
	if got := <-roles; got != role("admin") {
		t.Errorf("AuthInfo.Auth = %#v, want role(\"admin\")", got)
	}

	other := client(t, &ms.Dialer{}, "passthrough:///"+ln.Addr().String(), nil) // a fresh key
	err = other.Invoke(ctx, "/multiserver.test.Test/Whoami", &emptypb.Empty{}, new(wrapperspb.StringValue))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "handshake failed") {
		t.Fatalf("Whoami as a refused client: %v; want Unavailable with the handshake error", err)
	}
	t.Logf("error seen by the refused client: %v", err)
}

// TestWrongServerKey checks that a client dialing the right host with
// another server key fails with an error that says so, and that the
// server never serves it.
func TestWrongServerKey(t *testing.T) {
	serverErrs := make(chan error, 16)
	lc := &ms.ListenConfig{Config: ms.Config{Identity: serverKey}, OnError: func(err error) {
		select {
		case serverErrs <- err:
		default:
		}
	}}
	ln := serve(t, lc, "net:127.0.0.1:0~shs")
	m, err := msaddr.Parse(ln.Addr().String()) // a copy to modify
	if err != nil {
		t.Fatal(err)
	}
	wrong := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x57}, 32))
	m[0][1].Args = []string{base64.StdEncoding.EncodeToString(pub(wrong))}
	addr := m.String()

	cc := client(t, &ms.Dialer{Config: ms.Config{Identity: clientKey}}, "passthrough:///"+addr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = cc.Invoke(ctx, "/multiserver.test.Test/Whoami", &emptypb.Empty{}, new(wrapperspb.StringValue))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("Whoami with a wrong server key: %v; want codes.Unavailable", err)
	}
	for _, want := range []string{"multiserver: handshake failed", shs.ErrRejected.Error()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Whoami with a wrong server key: %v; want it to say %q", err, want)
		}
	}
	t.Logf("error seen by the caller: %v", err)
	select {
	case err := <-serverErrs:
		if !errors.Is(err, shs.ErrServerKey) {
			t.Errorf("the server reported %v, want an error wrapping shs.ErrServerKey", err)
		}
	case <-ctx.Done():
		t.Error("the server reported no failed handshake")
	}
}
