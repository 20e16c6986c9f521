package multiserver_test

import (
	"context"
	"fmt"
	"io"
	"log"

	ms "github.com/go-multiserver/multiserver"
)

// Trace a dial: each alternative's connect, the handshake, and the bytes
// moved when the conn is closed. A Trace on a ListenConfig sees the
// accepting side the same way.
func ExampleTrace() {
	ln, err := ms.Listen("net:127.0.0.1:0~shs")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go serveUpper(ln)

	closed := make(chan struct{})
	trace := &ms.Trace{
		DialStart:    func(i ms.DialStartInfo) { fmt.Println("dial start") },
		ConnectStart: func(i ms.ConnectInfo) { fmt.Printf("connect %s (scope %s)\n", i.Alt.Stack, i.Alt.Scope) },
		ConnectDone:  func(i ms.ConnectInfo) { fmt.Println("connected, error:", i.Err) },
		HandshakeStart: func(i ms.HandshakeInfo) {
			fmt.Println("handshake start")
		},
		HandshakeDone: func(i ms.HandshakeInfo) {
			fmt.Printf("handshake done, error: %v, key known: %v\n", i.Err, i.Conn.RemoteKey() != nil)
		},
		DialDone: func(i ms.DialDoneInfo) { fmt.Println("dial done, error:", i.Err) },
		Closed: func(i ms.CloseInfo) {
			fmt.Printf("closed %s: wrote %d bytes, read %d\n", i.Stack, i.Written, i.Read)
			close(closed)
		},
	}
	d := &ms.Dialer{Config: ms.Config{Trace: trace}}
	c, err := d.DialContext(context.Background(), ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	c.Write([]byte("traced"))
	c.(*ms.Conn).CloseWrite()
	reply, _ := io.ReadAll(c)
	fmt.Println(string(reply))
	c.Close()
	<-closed
	// Output:
	// dial start
	// connect net~shs (scope device)
	// connected, error: <nil>
	// handshake start
	// handshake done, error: <nil>, key known: true
	// dial done, error: <nil>
	// TRACED
	// closed net~shs: wrote 6 bytes, read 6
}
