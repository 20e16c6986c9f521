package shs_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// A server and a client on loopback TCP: the client must know the server's
// public key; the server learns the client's in the handshake.
func Example() {
	// Fixed keys so the output is stable; use ed25519.GenerateKey or
	// ReadSecretFile in real programs.
	serverID := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	clientID := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))

	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ln := shs.NewListener(inner, &shs.Config{Identity: serverID})
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept() // returns at once; the handshake runs on first Read
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client's goodbye
		fmt.Println("server: client was", shs.FormatID(c.(*shs.Conn).RemoteKey()))
	}()

	d := &shs.Dialer{Config: &shs.Config{
		Identity:  clientID,
		ServerKey: serverID.Public().(ed25519.PublicKey),
	}}
	c, err := d.Dial("tcp", inner.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("client: server is", shs.FormatID(c.(*shs.Conn).RemoteKey()))
	c.Write([]byte("hello, secret world"))
	c.(*shs.Conn).CloseWrite() // the server's Read returns io.EOF
	reply, err := io.ReadAll(c)
	if err != nil {
		log.Fatal(err)
	}
	<-done
	fmt.Printf("client: echo %q\n", reply)
	// Output:
	// client: server is @iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=.ed25519
	// server: client was @gTl3Dqh9F19Wo1Rmw0x+zMuNipG07jeiXfYPW4/Js5Q=.ed25519
	// client: echo "hello, secret world"
}

// Parsing the forms keys take in addresses and configuration.
func ExampleParseKey() {
	// URL-safe and unpadded base64 are accepted, as in JavaScript;
	// EncodeKey gives the canonical form.
	k, err := shs.ParseKey("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan_s")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shs.EncodeKey(k), bytes.Equal(k, shs.MainNetKey[:]))
	// Output:
	// 1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s= true
}
