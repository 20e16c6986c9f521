package laninterop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/lan"
)

// The netns test runs the ssb-lan plugin exactly as an app runs it: its
// own ports (26830, 8008), its own broadcast destination (the subnet of
// its host's first private address), on a host of its own. Two network
// namespaces joined by a veth pair are the two hosts; the Go side runs in
// the second one as this test binary re-executed with
// MS_LAN_NETNS_HELPER=1 (TestNetnsHelper), so that every socket it opens,
// ms.Dial's included, is in that namespace.

const (
	jsHost = "10.213.9.1"
	goHost = "10.213.9.2"
)

func setupNetns(t *testing.T) (nsJS, nsGo, ifGo string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command (Debian iproute2)")
	}
	id := os.Getpid() % 100000
	nsJS, nsGo = fmt.Sprintf("msl%dj", id), fmt.Sprintf("msl%dg", id)
	ifJS, ifGo := fmt.Sprintf("msl%dJ", id), fmt.Sprintf("msl%dG", id)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	ip("netns", "add", nsJS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsJS).Run() })
	ip("netns", "add", nsGo)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsGo).Run() })
	ip("link", "add", ifJS, "type", "veth", "peer", "name", ifGo)
	ip("link", "set", ifJS, "netns", nsJS)
	ip("link", "set", ifGo, "netns", nsGo)
	// Inside its namespace each end is eth0, a name ssb-lan knows: it picks
	// the address it broadcasts from by interface name (non-private-ip),
	// and for a name it does not know it takes the last address listed,
	// the IPv6 link-local one, whose "subnet broadcast" is 0.0.0.0.
	ip("-n", nsJS, "link", "set", ifJS, "name", "eth0")
	ip("-n", nsGo, "link", "set", ifGo, "name", "eth0")
	ifJS, ifGo = "eth0", "eth0"
	for _, s := range []struct{ ns, ifc, addr string }{{nsJS, ifJS, jsHost}, {nsGo, ifGo, goHost}} {
		ip("netns", "exec", s.ns, "sysctl", "-qw", "net.ipv6.conf."+s.ifc+".accept_dad=0")
		ip("-n", s.ns, "addr", "add", s.addr+"/24", "dev", s.ifc)
		ip("-n", s.ns, "link", "set", s.ifc, "up")
		ip("-n", s.ns, "link", "set", "lo", "up")
	}
	return nsJS, nsGo, ifGo
}

// helperEvent is one line TestNetnsHelper prints.
type helperEvent struct {
	Ev       string `json:"ev"`
	Address  string `json:"address,omitempty"`
	Format   string `json:"format,omitempty"`
	Verified bool   `json:"verified,omitempty"`
	Source   string `json:"source,omitempty"`
	OK       bool   `json:"ok,omitempty"`
	Error    string `json:"error,omitempty"`
}

func lines[T any](t *testing.T, r io.Reader, name string) <-chan T {
	ch := make(chan T, 256)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if sc.Text() == "PASS" { // the helper's test framework, at its end
				continue
			}
			var v T
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Errorf("%s printed %q", name, sc.Text())
				continue
			}
			ch <- v
		}
	}()
	return ch
}

// TestNetnsJSPeer: an unchanged ssb-lan plugin and package lan with its
// defaults (no loopback, no destinations given, default ports) find each
// other across a veth pair, in both formats, and echo over shs through the
// addresses they found.
func TestNetnsJSPeer(t *testing.T) {
	requireJS(t)
	nsJS, nsGo, _ := setupNetns(t)
	appKey := sha256.Sum256([]byte("TEST"))
	appKeyB64 := base64.StdEncoding.EncodeToString(appKey[:])

	start := func(name string, stdout *io.ReadCloser, args ...string) (*exec.Cmd, io.WriteCloser, *bytes.Buffer) {
		cmd := exec.Command("ip", args...)
		cmd.Env = append(os.Environ(), "MS_LAN_NETNS_HELPER=1", "MS_LAN_APPKEY="+appKeyB64)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if *stdout, err = cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() {
			in.Close()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s stderr:\n%s", name, stderr.String())
			}
		})
		return cmd, in, &stderr
	}
	var jsOut, goOut io.ReadCloser
	start("peer.js", &jsOut, "netns", "exec", nsJS, "node", "peer.js", "--seed", "js-lan-peer", "--appkey", appKeyB64, "--native", jsHost)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start("the Go helper", &goOut, "netns", "exec", nsGo, exe, "-test.run=^TestNetnsHelper$", "-test.v=false")
	jsEvents := lines[event](t, jsOut, "peer.js")
	goEvents := lines[helperEvent](t, goOut, "the Go helper")

	deadline := time.After(60 * time.Second)
	var jsAddr, goAddr string
	jsFound, goFound := map[string]bool{}, map[string]bool{}
	jsEchoed, goEchoed := false, map[string]bool{}
	for !(len(jsFound) == 2 && jsEchoed && len(goFound) == 2 && len(goEchoed) == 2) {
		select {
		case e, ok := <-jsEvents:
			if !ok {
				t.Fatal("peer.js ended")
			}
			switch e.Ev {
			case "address":
				jsAddr = e.Address
			case "found":
				if goAddr != "" && e.Address != goAddr || e.Verified != (e.Format == "ssb-lan") || !strings.Contains(e.Address, "net:"+goHost+":") {
					t.Fatalf("ssb-lan found %+v (Go address %q)", e, goAddr)
				}
				if !jsFound[e.Format] {
					t.Logf("ssb-lan found the Go peer: %s (%s, verified %v)", e.Address, e.Format, e.Verified)
				}
				jsFound[e.Format] = true
			case "echo":
				if !e.OK {
					t.Fatalf("ssb-lan's shs echo through %s: %s", e.Address, e.Error)
				}
				jsEchoed = true
			}
		case e, ok := <-goEvents:
			if !ok {
				t.Fatal("the Go helper ended")
			}
			switch e.Ev {
			case "address":
				goAddr = e.Address
			case "found":
				if jsAddr != "" && e.Address != jsAddr || e.Verified != (e.Format == "ssb-lan") {
					t.Fatalf("Go found %+v (JS address %q)", e, jsAddr)
				}
				if e.Format == "legacy" && e.Source != jsHost {
					t.Fatalf("Go found a legacy announcement from %s", e.Source)
				}
				t.Logf("Go found the JS peer: %s (%s, verified %v) from %s", e.Address, e.Format, e.Verified, e.Source)
				goFound[e.Format] = true
			case "echo":
				if !e.OK {
					t.Fatalf("Go's shs echo through %s: %s", e.Address, e.Error)
				}
				goEchoed[e.Format] = true
			case "error":
				t.Errorf("Go helper: %s", e.Error)
			}
		case <-deadline:
			t.Fatalf("after 60s: ssb-lan found %v, echoed %v; Go found %v, echoed %v", jsFound, jsEchoed, goFound, goEchoed)
		}
	}
}

// TestNetnsHelper is the Go peer of TestNetnsJSPeer, run inside its
// namespace; it does nothing in a normal test run.
func TestNetnsHelper(t *testing.T) {
	if os.Getenv("MS_LAN_NETNS_HELPER") != "1" {
		t.Skip("the Go side of TestNetnsJSPeer, run by it")
	}
	appKey, err := base64.StdEncoding.DecodeString(os.Getenv("MS_LAN_APPKEY"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	emit := func(e helperEvent) { mu.Lock(); enc.Encode(e); mu.Unlock() }
	key := keyFromSeed("go-lan-peer")

	lc := ms.ListenConfig{Config: ms.Config{Identity: key, AppKey: appKey}, Scopes: []ms.Scope{ms.Private}}
	ln, err := lc.Listen(context.Background(), "net:"+goHost+":0~shs")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); io.Copy(c, c) }()
		}
	}()
	defer func() { ln.Close(); wg.Wait() }()

	// Defaults throughout: main ports, every interface, no loopback.
	a := &lan.Announcer{AppKey: appKey, Interval: 500 * time.Millisecond}
	addr, err := a.ListenerAddress(ln)
	if err != nil {
		t.Fatal(err)
	}
	emit(helperEvent{Ev: "address", Address: addr.String()})
	// Stop when the parent closes stdin, or after a minute.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	var lwg sync.WaitGroup
	defer lwg.Wait()
	lwg.Add(1)
	go func() {
		defer lwg.Done()
		if err := a.Announce(ctx, addr, key); err != nil {
			emit(helperEvent{Ev: "error", Error: err.Error()})
		}
	}()
	for _, f := range []lan.Format{lan.Signed, lan.Legacy} {
		w := &lan.Watcher{AppKey: appKey, Formats: []lan.Format{f}, Self: key.Public().(ed25519.PublicKey)}
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			err := w.Watch(ctx, func(p lan.Peer) {
				emit(helperEvent{Ev: "found", Address: p.Address.String(), Format: p.Format.String(), Verified: p.Verified, Source: p.Source.Addr().String()})
				e := helperEvent{Ev: "echo", Address: p.Address.String(), Format: p.Format.String(), OK: true}
				if err := echoErr(ctx, appKey, p.Address.String()); err != nil {
					e.OK, e.Error = false, err.Error()
				}
				emit(e)
			})
			if err != nil {
				emit(helperEvent{Ev: "error", Error: err.Error()})
			}
		}()
	}
	<-ctx.Done()
}

func echoErr(ctx context.Context, appKey []byte, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := ms.Dialer{Config: ms.Config{AppKey: appKey}}
	c, err := d.DialContext(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := []byte("hello from Go across the veth")
	if _, err := c.Write(msg); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo %q, sent %q", got, msg)
	}
	return nil
}
