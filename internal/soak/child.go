package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/internal/procstat"
)

// echoSize is the payload of one echo, and the server handler's read
// buffer.
const echoSize = 1024

// counters of one process.
var (
	reads, writes, accepted, live atomic.Int64
)

// child runs a child role and returns the exit code.
func child(role string, args []string) int {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	proto := fs.String("proto", "shs", "")
	addr := fs.String("addr", "", "")
	cert := fs.String("cert", "", "")
	need := fs.Int("need", 1024, "file descriptors needed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := procstat.RaiseFileLimit(*need); err != nil {
		fmt.Fprintf(os.Stderr, "soak %s: %v, or use a smaller -n\n", role, err)
		return 1
	}
	var err error
	switch role {
	case "server":
		err = serve(*proto)
	case "client":
		err = clientLoop(*proto, *addr, *cert)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak %s: %v\n", role, err)
		return 1
	}
	return 0
}

// stats collects garbage and prints the process's memory and counters.
func stats(w io.Writer) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(w, "stats heap=%d heapinuse=%d stack=%d sys=%d rss=%d goroutines=%d mallocs=%d reads=%d writes=%d accepted=%d live=%d\n",
		m.HeapAlloc, m.HeapInuse, m.StackInuse, m.Sys, rss(), runtime.NumGoroutine(), m.Mallocs,
		reads.Load(), writes.Load(), accepted.Load(), live.Load())
}

// heapProfile writes a heap profile (after a collection) to path.
func heapProfile(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// commands reads the parent's commands; do handles each, and "quit" or
// the end of stdin ends the loop.
func commands(do func(f []string) error) error {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "quit" {
			return nil
		}
		if f[0] == "stats" {
			stats(os.Stdout)
			continue
		}
		if f[0] == "heapprofile" && len(f) == 2 {
			if err := heapProfile(f[1]); err != nil {
				return err
			}
			fmt.Println("profiled")
			continue
		}
		if err := do(f); err != nil {
			return err
		}
	}
	return sc.Err()
}

// serve accepts conns, writes one byte on each once its handshake is done,
// then echoes.
func serve(proto string) error {
	var ln net.Listener
	var certB64 string
	switch proto {
	case "shs":
		id := newIdentity()
		l, err := (&ms.ListenConfig{Config: ms.Config{Identity: id}}).Listen(context.Background(), "net:127.0.0.1:0~shs")
		if err != nil {
			return err
		}
		ln = l
	case "tls":
		cfg, der, err := tlsServerConfig()
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ln = tls.NewListener(l, cfg)
		certB64 = base64.StdEncoding.EncodeToString(der)
	default:
		return fmt.Errorf("unknown proto %q", proto)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					fmt.Fprintln(os.Stderr, "soak server: accept:", err)
				}
				return
			}
			go handle(c)
		}
	}()
	if certB64 == "" {
		certB64 = "-"
	}
	fmt.Printf("listening addr=%s cert=%s\n", ln.Addr(), certB64)
	return commands(func(f []string) error { return fmt.Errorf("unknown command %q", f) })
}

func handle(c net.Conn) {
	defer c.Close()
	if tc, ok := c.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), ms.DefaultHandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return
		}
	}
	accepted.Add(1)
	live.Add(1)
	defer live.Add(-1)
	if _, err := c.Write([]byte{'!'}); err != nil {
		return
	}
	buf := make([]byte, echoSize)
	for {
		n, err := c.Read(buf)
		reads.Add(1)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
		writes.Add(1)
	}
}

// client dials one server, as the soak client process or as the parent's
// legitimate client.
type client struct {
	proto string
	addr  string
	ms    *ms.Dialer
	tls   *tls.Config
}

func newClient(proto, addr, certB64 string) (*client, error) {
	c := &client{proto: proto, addr: addr}
	switch proto {
	case "shs":
		c.ms = &ms.Dialer{Config: ms.Config{Identity: newIdentity()}}
	case "tls":
		der, err := base64.StdEncoding.DecodeString(certB64)
		if err != nil {
			return nil, fmt.Errorf("bad -cert: %w", err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		c.tls = &tls.Config{RootCAs: pool, ServerName: "soak.test", MinVersion: tls.VersionTLS13}
	default:
		return nil, fmt.Errorf("unknown proto %q", proto)
	}
	return c, nil
}

// dial connects, handshakes and waits for the server's first byte.
func (c *client) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var conn net.Conn
	var err error
	if c.ms != nil {
		conn, err = c.ms.DialContext(ctx, c.addr)
	} else {
		d := &tls.Dialer{Config: c.tls}
		conn, err = d.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("waiting for the server's first byte: %w", err)
	}
	conn.SetReadDeadline(time.Time{})
	return conn, nil
}

// handshake dials, times it to the server's first byte, and closes.
func (c *client) handshake() (time.Duration, error) {
	start := time.Now()
	conn, err := c.dial(context.Background())
	if err != nil {
		return 0, err
	}
	d := time.Since(start)
	conn.Close()
	return d, nil
}

func echo(conn net.Conn, buf []byte) error {
	if _, err := conn.Write(buf); err != nil {
		return err
	}
	writes.Add(1)
	_, err := io.ReadFull(conn, buf)
	reads.Add(1)
	return err
}

// parallel runs f(i) for i in [0,n) on conc goroutines and returns the
// number of failures, printing the first.
func parallel(n, conc int, f func(i int, buf []byte) error) (fails int) {
	var next, failed atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, echoSize)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i, buf); err != nil {
					failed.Add(1)
					once.Do(func() { fmt.Fprintf(os.Stderr, "soak client: conn %d: %v\n", i, err) })
				}
			}
		}()
	}
	wg.Wait()
	return int(failed.Load())
}

func clientLoop(proto, addr, certB64 string) error {
	cl, err := newClient(proto, addr, certB64)
	if err != nil {
		return err
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	return commands(func(f []string) error {
		switch {
		case f[0] == "dial" && len(f) == 3:
			n, _ := strconv.Atoi(f[1])
			conc, _ := strconv.Atoi(f[2])
			conns = make([]net.Conn, n)
			start := time.Now()
			fails := parallel(n, conc, func(i int, buf []byte) error {
				c, err := cl.dial(context.Background())
				if err != nil {
					return err
				}
				conns[i] = c
				return echo(c, buf)
			})
			fmt.Printf("dialed ok=%d fail=%d secs=%.2f\n", n-fails, fails, time.Since(start).Seconds())
		case f[0] == "echo":
			fails := parallel(len(conns), 64, func(i int, buf []byte) error {
				if conns[i] == nil {
					return errors.New("not connected")
				}
				return echo(conns[i], buf)
			})
			fmt.Printf("echoed ok=%d fail=%d\n", len(conns)-fails, fails)
		case f[0] == "flood" && len(f) == 3:
			n, _ := strconv.Atoi(f[1])
			d, err := time.ParseDuration(f[2])
			if err != nil {
				return err
			}
			var ok, fail atomic.Int64
			start := time.Now()
			var wg sync.WaitGroup
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Since(start) < d {
						if _, err := cl.handshake(); err != nil {
							fail.Add(1)
						} else {
							ok.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			fmt.Printf("flooded ok=%d fail=%d secs=%.2f\n", ok.Load(), fail.Load(), time.Since(start).Seconds())
		default:
			return fmt.Errorf("unknown command %q", f)
		}
		return nil
	})
}

func newIdentity() ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return priv
}

// tlsServerConfig makes a self-signed ed25519 certificate for soak.test:
// TLS 1.3 only, session tickets off so every conn runs a full handshake.
func tlsServerConfig() (*tls.Config, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "soak.test"},
		DNSNames:              []string{"soak.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		Certificates:           []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv}},
		MinVersion:             tls.VersionTLS13,
		SessionTicketsDisabled: true,
	}
	return cfg, der, nil
}

func describeMachine() string {
	return fmt.Sprintf("%s %s/%s, %d CPUs, GOMAXPROCS=%d", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
}
