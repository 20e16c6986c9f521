package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestDemo runs the README's first command as a user would.
func TestDemo(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	p := startEnv(t, testEnv(t, "TMPDIR="+tmp), nil, "demo")
	if code := p.wait(); code != 0 {
		t.Fatalf("ms demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout(), p.stderr.String())
	}
	out := p.stdout()
	for _, want := range []string{"net~shs", "ws~shs", "unix~noauth", "MB/s", "all stacks worked"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("demo left %d entries in its temporary directory", len(left))
	}
}

// TestDemoInProcess runs the demo inside the test binary, so goleak sees
// the goroutines of the library and of ms.
func TestDemoInProcess(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--mib", "1"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
