package main

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/internal/dnstest"
	"github.com/go-multiserver/multiserver/secure/shs"
)

// zoneStrings parses the character-strings of a TXT zone-file line such
// as `_multiserver.a. 300 IN TXT "s1" "s2"` and returns the owner name and
// the strings, unescaped.
func zoneStrings(t *testing.T, line string) (owner string, strs []string) {
	t.Helper()
	owner, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.Contains(rest, " IN TXT ") {
		t.Fatalf("not a TXT zone line: %q", line)
	}
	_, rest, _ = strings.Cut(rest, " IN TXT ")
	for rest != "" {
		if rest[0] != '"' {
			t.Fatalf("zone line %q: want a quoted string at %q", line, rest)
		}
		var b []byte
		i := 1
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] != '\\' {
				b = append(b, rest[i])
				continue
			}
			if i+3 < len(rest) && rest[i+1] >= '0' && rest[i+1] <= '9' {
				n, err := strconv.Atoi(rest[i+1 : i+4])
				if err != nil || n > 255 {
					t.Fatalf("zone line %q: bad escape", line)
				}
				b = append(b, byte(n))
				i += 3
				continue
			}
			i++
			b = append(b, rest[i])
		}
		if i == len(rest) {
			t.Fatalf("zone line %q: unterminated string", line)
		}
		if len(b) > 255 {
			t.Fatalf("zone line %q: a string of %d bytes", line, len(b))
		}
		strs = append(strs, string(b))
		rest = strings.TrimPrefix(rest[i+1:], " ")
	}
	return owner, strs
}

// startListenDNS runs ms listen --echo --dns name and returns the address
// and the zone-file line it printed on its first two stdout lines; the
// process is stopped in t.Cleanup.
func startListenDNS(t *testing.T, secret, name, addrs string) (addr, zone string, stop func()) {
	t.Helper()
	cmd := exec.Command(msBin, "listen", "--secret", secret, "--echo", "--dns", name, addrs)
	cmd.Env = testEnv(t)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	lines := make(chan string, 2)
	go func() {
		defer close(done)
		defer close(lines)
		br := bufio.NewReader(out)
		for range 2 {
			l, err := br.ReadString('\n')
			if err != nil {
				break
			}
			lines <- strings.TrimSuffix(l, "\n")
		}
		br.WriteTo(discard{})
		cmd.Wait()
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	timeout := time.After(procTimeout)
	for i := range 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				stop()
				t.Fatalf("ms listen --dns: %d lines on stdout; stderr:\n%s", i, stderr.String())
			}
			if i == 0 {
				addr = l
			} else {
				zone = l
			}
		case <-timeout:
			stop()
			t.Fatalf("ms listen --dns: no output after %v; stderr:\n%s", procTimeout, stderr.String())
		}
	}
	return addr, zone, stop
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestListenDNSRecord(t *testing.T) {
	t.Parallel()
	secret, pub := secretFile(t, 7)
	addr, zone, _ := startListenDNS(t, secret, "Peer.Example.", "net:127.0.0.1:0~shs;ws://127.0.0.1:0~shs")
	owner, strs := zoneStrings(t, zone)
	if owner != "_multiserver.peer.example." || strings.Join(strs, "") != addr || !strings.Contains(zone, " 300 IN TXT ") {
		t.Errorf("zone line %q for address %q", zone, addr)
	}
	if !strings.Contains(addr, "~shs:"+shs.EncodeKey(pub)) {
		t.Errorf("address %q lacks the key", addr)
	}
	code, _, stderr := runMS(t, nil, "listen", "--dns", "bad name", "net:127.0.0.1:0~shs")
	if code != 2 || !strings.Contains(stderr, "--dns") {
		t.Errorf("--dns 'bad name': exit %d, stderr %q; want 2 and a message", code, stderr)
	}
}

func TestDialAndResolveDNS(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	srvSecret, srvPub := secretFile(t, 8)
	cliSecret, _ := secretFile(t, 9)
	key := shs.EncodeKey(srvPub)
	addr, zone, _ := startListenDNS(t, srvSecret, "peer.example", "net:127.0.0.1:0~shs")
	owner, strs := zoneStrings(t, zone)
	dns := dnstest.Start(t)
	dns.SetStrings(owner, strs)
	dns.Set("_multiserver.bad.example", "net:1.2.3.4:1~~shs", addr)
	server := "--dns-server=" + dns.Addr

	t.Run("dial pinned", func(t *testing.T) {
		d := start(t, strings.NewReader("hi"), "dial", "--secret", cliSecret, server, "dns:peer.example~shs:"+key)
		if code := d.wait(); code != 0 || d.stdout() != "hi" {
			t.Fatalf("exit %d, stdout %q, stderr %s", code, d.stdout(), d.stderr.String())
		}
		if log := d.stderr.String(); !strings.Contains(log, "connected over net~shs to "+addr) || strings.Contains(log, "not pinned") {
			t.Errorf("stderr %q", log)
		}
	})
	t.Run("dial unpinned says so", func(t *testing.T) {
		d := start(t, strings.NewReader("hi"), "dial", "--secret", cliSecret, server, "dns:peer.example")
		if code := d.wait(); code != 0 || d.stdout() != "hi" {
			t.Fatalf("exit %d, stdout %q, stderr %s", code, d.stdout(), d.stderr.String())
		}
		if log := d.stderr.String(); !strings.Contains(log, "dns:peer.example is not pinned: the server key is whatever DNS answers") {
			t.Errorf("stderr %q", log)
		}
	})
	t.Run("dial wrong pin", func(t *testing.T) {
		_, other := secretFile(t, 10)
		wrong := shs.EncodeKey(other)
		code, stdout, stderr := runMS(t, strings.NewReader("hi"), "dial", "--secret", cliSecret, server, "dns:peer.example~shs:"+wrong)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "no alternative matches the pin") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("resolve", func(t *testing.T) {
		code, stdout, stderr := runMS(t, nil, "resolve", server, "dns:bad.example~shs:"+key+";unix:/run/x~noauth")
		want := addr + "\tfrom TXT _multiserver.bad.example.\nunix:/run/x~noauth\tgiven\n"
		if code != 0 || stdout != want {
			t.Errorf("exit %d, stdout %q; want 0, %q; stderr %q", code, stdout, want, stderr)
		}
		if !strings.Contains(stderr, "TXT _multiserver.bad.example.: 2 records") || !strings.Contains(stderr, `record 1 at _multiserver.bad.example. "net:1.2.3.4:1~~shs"`) {
			t.Errorf("stderr does not show the lookup and the bad record: %q", stderr)
		}
	})
	t.Run("resolve nxdomain", func(t *testing.T) {
		code, stdout, stderr := runMS(t, nil, "resolve", server, "dns:nothing.example~shs:"+key)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "_multiserver.nothing.example. on "+dns.Addr) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"resolve", "--dns-server", "nope", "dns:a.example"},
			{"resolve", "--dns-server", "127.0.0.1:x", "dns:a.example"},
			{"resolve", "dns:a..example"},
			{"dial", "--dns-server", "nope", "dns:a.example"},
		} {
			code, _, stderr := runMS(t, nil, args...)
			if code != 2 || strings.Count(stderr, "\n") != 1 {
				t.Errorf("ms %q: exit %d, stderr %q; want 2 and one line", args, code, stderr)
			}
		}
	})
}

func TestProbeDNS(t *testing.T) {
	t.Parallel()
	skipWithoutSignals(t)
	srvSecret, srvPub := secretFile(t, 13)
	cliSecret, _ := secretFile(t, 14)
	key := shs.EncodeKey(srvPub)
	addr, zone, _ := startListenDNS(t, srvSecret, "probe.example", "net:127.0.0.1:0~shs")
	owner, strs := zoneStrings(t, zone)
	dns := dnstest.Start(t)
	dns.SetStrings(owner, strs)
	server := "--dns-server=" + dns.Addr

	code, stdout, stderr := runMS(t, nil, "probe", "--secret", cliSecret, server, "dns:probe.example~shs:"+key+";dns:nothing.example")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and two lines", code, stdout, stderr)
	}
	if want := addr + " (from TXT _multiserver.probe.example.)  connect "; !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], "ok  key ") {
		t.Errorf("line 1 %q: want it to start %q and say ok", lines[0], want)
	}
	if !strings.HasPrefix(lines[1], "dns:nothing.example  connect -  handshake -  FAIL dns: ") {
		t.Errorf("line 2 %q: want a dns failure", lines[1])
	}
	if !strings.Contains(stderr, "dns:nothing.example is not pinned") {
		t.Errorf("stderr %q: want the unpinned warning", stderr)
	}
	code, _, stderr = runMS(t, nil, "probe", "--secret", cliSecret, server, "dns:probe.example~shs:AAAA")
	if code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("bad pin: exit %d, stderr %q; want 2 and one line", code, stderr)
	}
}
