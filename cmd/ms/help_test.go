package main

import (
	"flag"
	"strings"
	"testing"
)

// TestHelp checks that ms help and ms CMD -h document every flag.
func TestHelp(t *testing.T) {
	t.Parallel()
	code, all, _ := runMS(t, nil, "help")
	if code != 0 {
		t.Fatalf("ms help: exit %d", code)
	}
	for _, c := range commands {
		args := []string{c.name, "-h"}
		if c.sub != "" {
			args = []string{c.name, c.sub, "-h"}
		}
		code, one, _ := runMS(t, nil, args...)
		if code != 0 {
			t.Errorf("ms %s: exit %d, want 0", strings.Join(args, " "), code)
		}
		if !strings.Contains(all, "usage: ms "+c.name) || !strings.Contains(one, "usage: ms "+c.name) {
			t.Errorf("ms %s: no usage line in ms help or in -h", c.name)
		}
		c.flags(&env{}).VisitAll(func(f *flag.Flag) {
			if !strings.Contains(all, "  -"+f.Name) || !strings.Contains(one, "  -"+f.Name) {
				t.Errorf("ms %s: flag -%s missing from ms help or from ms %s -h", c.name, f.Name, c.name)
			}
		})
	}
	// The exit statuses are documented, each one.
	for _, want := range []string{"Exit status:", "\n  0  success", "\n  1  failure", "\n  2  bad usage", "\n  3  unconfirmed end"} {
		if !strings.Contains(all, want) {
			t.Errorf("ms help does not document %q", strings.TrimSpace(want))
		}
	}
	if code, _, stderr := runMS(t, nil, "frobnicate"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runMS(t, nil); code != 2 || !strings.Contains(stderr, "usage: ms COMMAND") {
		t.Errorf("no command: exit %d, stderr %q", code, stderr)
	}
}
