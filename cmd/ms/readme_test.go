package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-multiserver/multiserver/secure/shs"
)

// readmeCommands returns every ms command line of the repository's
// README.md: the lines of its sh blocks and its inline code spans that
// start with "ms " (or "$ ms "), without their comments.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var out []string
	for _, blk := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(readme, -1) {
		for _, l := range strings.Split(blk[1], "\n") {
			l = strings.TrimPrefix(strings.TrimSpace(l), "$ ")
			if strings.HasPrefix(l, "ms ") {
				if i := strings.Index(l, " #"); i >= 0 {
					l = l[:i]
				}
				out = append(out, strings.TrimSpace(l))
			}
		}
	}
	for _, m := range regexp.MustCompile("`(ms [^`]+)`").FindAllStringSubmatch(readme, -1) {
		out = append(out, m[1])
	}
	return out
}

// shellWords splits a command line as sh does for the simple forms the
// README uses: words separated by spaces, single quotes kept together.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted = !quoted
			in = true
		case r == ' ' && !quoted:
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// TestREADMECommands checks every ms command line of README.md: the
// command exists and its flags parse. The ones that need no network
// beyond loopback run: keygen and id on a fresh HOME, addr with a real
// key for <key>, and listen --echo then dial as the README shows them.
func TestREADMECommands(t *testing.T) {
	t.Parallel()
	lines := readmeCommands(t)
	if len(lines) < 10 {
		t.Fatalf("found %d ms commands in README.md; the pattern is broken", len(lines))
	}
	for _, l := range lines {
		args := shellWords(l)[1:]
		if args[0] == "help" {
			continue // run below
		}
		if strings.HasPrefix(args[0], "-") {
			// Flags before the command (--log-format) are main's: a
			// placeholder COMMAND follows.
			continue
		}
		var c *command
		for _, k := range commands {
			if k.name == args[0] && (k.sub == "" || len(args) > 1 && args[1] == k.sub) {
				c = k
			}
		}
		if c == nil {
			t.Errorf("README: %q: no such command", l)
			continue
		}
		rest := args[1:]
		if c.sub != "" {
			rest = rest[1:]
		}
		fs := c.flags(&env{stdout: io.Discard, stderr: io.Discard})
		fs.SetOutput(io.Discard)
		if err := fs.Parse(rest); err != nil {
			t.Errorf("README: %q: %v", l, err)
		}
	}

	home := t.TempDir()
	env := append(testEnv(t), "HOME="+home)
	runLine := func(l string, stdin io.Reader, subst ...string) *proc {
		t.Helper()
		r := strings.NewReplacer(append([]string{"~/", home + "/"}, subst...)...)
		args := shellWords(r.Replace(l))[1:]
		return startEnv(t, env, stdin, args...)
	}
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("README has no command starting %q", prefix)
		return ""
	}
	if p := runLine(find("ms keygen --out ~/.ssb/secret"), nil); p.wait() != 0 {
		t.Fatalf("README keygen: exit %d: %s", p.code, p.stderr.String())
	}
	if p := runLine("ms id", nil); p.wait() != 0 {
		t.Errorf("ms id after the README keygen: exit %d: %s", p.code, p.stderr.String())
	}
	if p := runLine("ms help", nil); p.wait() != 0 {
		t.Errorf("ms help: exit %d", p.code)
	}
	_, pub := secretFile(t, 1)
	key := shs.EncodeKey(pub)
	if p := runLine(find("ms addr 'net:"), nil, "<key>", key); p.wait() != 0 {
		t.Errorf("README addr: exit %d: %s", p.code, p.stderr.String())
	}
	// listen --echo as shown (on a free port), then the dial line with
	// the address listen printed.
	ln := runLine(find("ms listen --echo 'net:127.0.0.1:8008~shs'"), nil, ":8008", ":0")
	addr := ln.firstLine()
	d := runLine(find("ms dial 'net:127.0.0.1:8008~shs:<key>'"), strings.NewReader("hi\n"), "'net:127.0.0.1:8008~shs:<key>'", "'"+addr+"'")
	if code := d.wait(); code != 0 || d.stdout() != "hi\n" {
		t.Errorf("README listen --echo then dial: exit %d, stdout %q, stderr %s", code, d.stdout(), d.stderr.String())
	}
	ln.interrupt()
}
