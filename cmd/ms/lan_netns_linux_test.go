package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// netns is a pair of network namespaces joined by a veth pair, each end
// with an address that exists only inside its namespace: two hosts on one
// private /24, with IPv6 link-local addresses, as a home network gives.
type netns struct {
	a, b         string // namespace names
	ifA, ifB     string // veth ends
	hostA, hostB string
}

// newNetns makes the namespaces (root only) and removes them when the test
// ends.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command (Debian iproute2)")
	}
	id := os.Getpid() % 100000
	n := &netns{a: fmt.Sprintf("ms%da", id), b: fmt.Sprintf("ms%db", id), ifA: fmt.Sprintf("ms%dA", id), ifB: fmt.Sprintf("ms%dB", id),
		hostA: "10.213.7.1", hostB: "10.213.7.2"}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	ip("netns", "add", n.a)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.a).Run() })
	ip("netns", "add", n.b)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.b).Run() })
	ip("link", "add", n.ifA, "type", "veth", "peer", "name", n.ifB)
	ip("link", "set", n.ifA, "netns", n.a)
	ip("link", "set", n.ifB, "netns", n.b)
	for _, s := range []struct{ ns, ifc, addr string }{{n.a, n.ifA, n.hostA}, {n.b, n.ifB, n.hostB}} {
		// No duplicate address detection: the link-local address is
		// usable as soon as the link is up, without waiting for it.
		ip("netns", "exec", s.ns, "sysctl", "-qw", "net.ipv6.conf."+s.ifc+".accept_dad=0")
		ip("-n", s.ns, "addr", "add", s.addr+"/24", "dev", s.ifc)
		ip("-n", s.ns, "link", "set", s.ifc, "up")
		ip("-n", s.ns, "link", "set", "lo", "up")
	}
	return n
}

// nsProc is ms running inside a namespace.
type nsProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr lockedBuffer
	done   chan struct{}
}

func (n *netns) start(t *testing.T, ns string, stdin io.Reader, args ...string) *nsProc {
	t.Helper()
	// ip netns exec enters the namespace and execs ms: the process is ms.
	p := &nsProc{t: t, lines: make(chan string, 64), done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, msBin}, args...)...)
	p.cmd.Env = testEnv(t)
	p.cmd.Stdin = stdin
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		p.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *nsProc) line() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			p.t.Fatalf("%s: ended without a line; exit %d, stderr:\n%s", p.cmd.Args[3:], p.cmd.ProcessState.ExitCode(), p.stderr.String())
		}
		return l
	case <-time.After(procTimeout):
		p.t.Fatalf("%s: no line after %v; stderr:\n%s", p.cmd.Args[3:], procTimeout, p.stderr.String())
		return ""
	}
}

func (p *nsProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(procTimeout):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s: still running after %v; stderr:\n%s", p.cmd.Args[3:], procTimeout, p.stderr.String())
		return -1
	}
}

func (p *nsProc) interrupt() int {
	p.t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	return p.wait()
}

// TestLANNetns runs ms lan announce and ms lan watch on two hosts of one
// private network (network namespaces the test makes, a veth pair) with
// the default ports, destinations and checks: no loopback, no --to. The
// announcer finds the subnet broadcast address and the IPv6 link itself;
// the watcher finds it in each format, and the address dials from the
// other host with an shs echo. A run with --to ff02::1%IF checks the IPv6
// link-local multicast path alone.
func TestLANNetns(t *testing.T) {
	skipWithoutSignals(t)
	n := newNetns(t)
	srvSecret, srvPub := secretFile(t, 11)
	cliSecret, _ := secretFile(t, 12)
	ln := n.start(t, n.a, nil, "listen", "--secret", srvSecret, "--echo", "--scope", "private", "net:"+n.hostA+":0~shs")
	addr := ln.line()
	defer ln.interrupt()
	if !strings.HasPrefix(addr, "net:"+n.hostA+":") {
		t.Fatalf("listener address %q", addr)
	}
	for _, tt := range []struct {
		name, format string
		to           []string
		source       func(string) bool
	}{
		{"ssb-lan", "ssb-lan", nil, func(s string) bool { return s == n.hostA || strings.HasPrefix(s, "fe80::") }},
		{"legacy", "legacy", nil, func(s string) bool { return s == n.hostA }},
		{"ipv6-multicast", "ssb-lan", []string{"--to", "ff02::1%" + n.ifA}, func(s string) bool { return strings.HasPrefix(s, "fe80::") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := n.start(t, n.b, nil, "lan", "watch", "--json", "--count", "1", "--formats", tt.format)
			args := append([]string{"lan", "announce", "--secret", srvSecret, "--interval", "100ms", "--formats", tt.format}, tt.to...)
			a := n.start(t, n.a, nil, append(args, addr)...)
			line := w.line()
			if code := w.wait(); code != 0 {
				t.Fatalf("lan watch: exit %d, stderr:\n%s", code, w.stderr.String())
			}
			if code := a.interrupt(); code != 0 {
				t.Errorf("lan announce after SIGINT: exit %d, stderr:\n%s", code, a.stderr.String())
			}
			var p struct {
				Address, Key, Format, Source string
				Verified                     bool
			}
			if err := json.Unmarshal([]byte(line), &p); err != nil {
				t.Fatalf("lan watch printed %q: %v", line, err)
			}
			if p.Address != addr || p.Key != shs.FormatID(srvPub) || p.Format != tt.format || p.Verified != (tt.format == "ssb-lan") || !tt.source(p.Source) {
				t.Fatalf("lan watch printed %+v; want %s from %s", p, addr, shs.FormatID(srvPub))
			}
			t.Logf("found %s (%s, verified %v) from %s", p.Address, p.Format, p.Verified, p.Source)
			data := []byte("across the veth")
			d := n.start(t, n.b, bytes.NewReader(data), "dial", "--secret", cliSecret, p.Address)
			got := ""
			for l := range d.lines {
				got += l
			}
			if code := d.wait(); code != 0 || got != string(data) {
				t.Fatalf("dial %s from the other host: exit %d, stdout %q, stderr %s", p.Address, code, got, d.stderr.String())
			}
		})
	}
}
