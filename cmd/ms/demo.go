package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msaddr"
	"github.com/go-multiserver/multiserver/secure/shs"
)

var demoCmd = &command{
	name:    "demo",
	summary: "a tour on loopback: one listener on three stacks, dialed by its address",
	detail: `Listen on net+shs, ws+shs and unix+noauth on loopback with one fresh server
key, print the advertised address, then dial each alternative of it with a
fresh client key, echo a few MiB and print per stack the keys each side saw
and the throughput. Touches no files but a temporary directory for the unix
socket, removed at the end. Exit status 0 when every stack worked.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		mib := fs.Int("mib", 8, "echo `N` MiB over each stack")
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 0 {
				e.errorf("unexpected arguments %q", args)
				return exitUsage
			}
			if *mib < 1 || *mib > 1024 {
				e.errorf("--mib must be 1 to 1024")
				return exitUsage
			}
			if err := runDemo(ctx, e, *mib<<20); err != nil {
				if ctx.Err() != nil {
					// A signal closed the conns; what broke is a symptom.
					e.errorf("interrupted")
				} else {
					e.errorf("%v", err)
				}
				return exitFailure
			}
			return exitOK
		}
	},
}

func runDemo(ctx context.Context, e *env, size int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "ms-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	_, serverKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	_, clientKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	// Authorize sees every shs client; the demo admits all and keeps the
	// key to show it.
	lc := ms.ListenConfig{
		Config: ms.Config{
			Identity:  serverKey,
			Authorize: func(_ context.Context, k ed25519.PublicKey) (any, error) { return shs.FormatID(k), nil },
		},
		OnError: func(err error) { e.errorf("server: %v", err) },
	}
	listen := "net:127.0.0.1:0~shs;ws://127.0.0.1:0~shs;" +
		msaddr.Address{{Name: "unix", Args: []string{filepath.Join(dir, "ms.sock")}}, {Name: "noauth"}}.String()
	ln, err := lc.Listen(ctx, listen)
	if err != nil {
		return err
	}
	seen := make(chan string, 1) // the client key the server saw, per conn
	var t tracker
	accepted := make(chan struct{})
	defer func() {
		ln.Close()
		<-accepted
		t.shutdown()
	}()
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case seen <- idOf(ms.RemoteKey(c)):
			default:
			}
			t.serve(c, func(c net.Conn) {
				io.Copy(c, c)
				c.Close()
			})
		}
	}()

	w := e.stdout
	fmt.Fprintf(w, "server %s listens on three stacks; its advertised address:\n  %s\n\n",
		shs.FormatID(serverKey.Public().(ed25519.PublicKey)), ln.Addr())
	fmt.Fprintf(w, "client %s dials each alternative and echoes %d MiB:\n",
		shs.FormatID(clientKey.Public().(ed25519.PublicKey)), size>>20)
	d := ms.Dialer{Config: ms.Config{Identity: clientKey}}
	for _, alt := range ln.Addr().(*ms.Addr).Multi() {
		c, err := d.DialContext(ctx, alt.String())
		if err != nil {
			return err
		}
		elapsed, err := echoThrough(ctx, c, size)
		c.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", stackName(alt), err)
		}
		var serverSaw string
		select {
		case serverSaw = <-seen:
		case <-ctx.Done():
			return ctx.Err()
		}
		fmt.Fprintf(w, "  %-12s server saw %s\n  %-12s client saw %s\n  %-12s %d MiB echoed in %v: %.1f MB/s\n",
			stackName(alt), serverSaw, "", idOf(ms.RemoteKey(c)), "", size>>20, elapsed.Round(time.Millisecond),
			float64(size)/elapsed.Seconds()/1e6)
	}
	fmt.Fprintln(w, "\nall stacks worked")
	return nil
}

// echoThrough writes size random bytes to c while reading the echo back,
// and checks that it matches.
func echoThrough(ctx context.Context, c net.Conn, size int) (time.Duration, error) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	data := make([]byte, size)
	rand.Read(data)
	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		werr <- err
	}()
	h := sha256.New()
	_, rerr := io.CopyN(h, c, int64(size))
	elapsed := time.Since(start)
	if rerr != nil {
		c.Close() // unblocks the writer
		<-werr
		return 0, fmt.Errorf("reading the echo: %w", rerr)
	}
	if err := <-werr; err != nil {
		return 0, fmt.Errorf("writing: %w", err)
	}
	want := sha256.Sum256(data)
	if !bytes.Equal(h.Sum(nil), want[:]) {
		return 0, fmt.Errorf("the echo differs from what was sent")
	}
	return elapsed, nil
}
