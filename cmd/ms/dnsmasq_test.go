package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// dnsmasq is a real DNS server from Debian, run by the test on a loopback
// port and serving the TXT records the test loads into its config.
type dnsmasq struct {
	t    *testing.T
	bin  string
	port int
	conf string
	cmd  *exec.Cmd
	done chan struct{}
	log  lockedBuffer
}

// findDnsmasq returns the dnsmasq binary. Without one the test is skipped,
// except in CI (CI=true), where .ci/run installs it and its absence is a
// failure.
func findDnsmasq(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"dnsmasq", "/usr/sbin/dnsmasq"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("dnsmasq not found; CI must install it (apt-get install dnsmasq; see .ci/run)")
	}
	t.Skip("dnsmasq not found (apt-get install dnsmasq); CI runs this test")
	return ""
}

// freePort returns a loopback port free for both UDP and TCP just now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		tl.Close()
		if err == nil {
			ul.Close()
			return port
		}
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return 0
}

// dnsmasqLine turns a TXT zone-file line into a dnsmasq txt-record line.
func dnsmasqLine(t *testing.T, zone string) string {
	t.Helper()
	owner, strs := zoneStrings(t, zone)
	quoted := make([]string, len(strs))
	for i, s := range strs {
		if strings.ContainsAny(s, "\"\\,\n") {
			t.Fatalf("string %q needs escapes this test does not write", s)
		}
		quoted[i] = `"` + s + `"`
	}
	return "txt-record=" + strings.TrimSuffix(owner, ".") + "," + strings.Join(quoted, ",")
}

// serve writes the zone lines into the config and (re)starts dnsmasq on
// its port; a running one is stopped first, as dnsmasq reads txt-record
// only at start.
func (d *dnsmasq) serve(zones ...string) {
	d.t.Helper()
	d.stop()
	var conf strings.Builder
	for _, z := range zones {
		conf.WriteString(dnsmasqLine(d.t, z) + "\n")
	}
	if err := os.WriteFile(d.conf, []byte(conf.String()), 0o644); err != nil {
		d.t.Fatal(err)
	}
	d.log = lockedBuffer{}
	d.cmd = exec.Command(d.bin, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--log-queries",
		"--conf-file="+d.conf, fmt.Sprintf("--port=%d", d.port), "--listen-address=127.0.0.1", "--bind-interfaces",
		"--pid-file=", "--log-facility=-")
	d.cmd.Stdout = &d.log
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	started := make(chan bool, 1)
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			d.log.Write([]byte(sc.Text() + "\n"))
			// dnsmasq says "started" once its sockets are bound.
			if !said && strings.Contains(sc.Text(), "started, version") {
				said = true
				started <- true
			}
		}
		if !said {
			started <- false
		}
		d.cmd.Wait()
	}()
	select {
	case ok := <-started:
		if !ok {
			d.stop()
			d.t.Fatalf("dnsmasq did not start:\n%s", d.log.String())
		}
	case <-time.After(procTimeout):
		d.stop()
		d.t.Fatalf("dnsmasq did not start in %v:\n%s", procTimeout, d.log.String())
	}
}

func (d *dnsmasq) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Kill()
	<-d.done
	d.cmd = nil
}

// TestDnsmasqUpgrade is the upgrade story end to end with a real DNS
// server: a peer publishes its net stack with ms listen --dns, a client
// dials dns:NAME~shs:KEY; the peer then replaces net by ws, changes the
// record, and the same client command reaches the new stack.
func TestDnsmasqUpgrade(t *testing.T) {
	skipWithoutSignals(t)
	d := &dnsmasq{t: t, bin: findDnsmasq(t), port: freePort(t), conf: filepath.Join(t.TempDir(), "dnsmasq.conf")}
	t.Cleanup(d.stop)
	srvSecret, srvPub := secretFile(t, 11)
	cliSecret, _ := secretFile(t, 12)
	target := "dns:peer.multiserver.test~shs:" + shs.EncodeKey(srvPub)
	server := fmt.Sprintf("--dns-server=127.0.0.1:%d", d.port)
	dial := func(wantStack, wantAddr string) {
		t.Helper()
		p := start(t, strings.NewReader("over dns"), "dial", "--secret", cliSecret, server, target)
		if code := p.wait(); code != 0 || p.stdout() != "over dns" {
			t.Fatalf("ms dial %s: exit %d, stdout %q, stderr:\n%s\ndnsmasq:\n%s", target, code, p.stdout(), p.stderr.String(), d.log.String())
		}
		if log := p.stderr.String(); !strings.Contains(log, "connected over "+wantStack+" to "+wantAddr) {
			t.Errorf("ms dial stderr %q: want it connected over %s to %s", log, wantStack, wantAddr)
		}
	}

	// Version 1: net only.
	netAddr, zone, stopNet := startListenDNS(t, srvSecret, "peer.multiserver.test", "net:127.0.0.1:0~shs")
	d.serve(zone)
	dial("net~shs", netAddr)
	code, stdout, stderr := runMS(t, nil, "resolve", server, target)
	if code != 0 || stdout != netAddr+"\tfrom TXT _multiserver.peer.multiserver.test.\n" {
		t.Errorf("ms resolve: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// Version 2: the net stack is gone, a ws stack is published instead.
	stopNet()
	wsAddr, zone, _ := startListenDNS(t, srvSecret, "peer.multiserver.test", "ws://127.0.0.1:0~shs")
	d.serve(zone)
	dial("ws~shs", wsAddr)
	code, stdout, _ = runMS(t, nil, "resolve", server, target)
	if code != 0 || stdout != wsAddr+"\tfrom TXT _multiserver.peer.multiserver.test.\n" {
		t.Errorf("ms resolve after the change: exit %d, stdout %q", code, stdout)
	}
}
