package procstat

import (
	"flag"
	"regexp"
	"testing"
)

// SkipUnlessSelected skips a long test (a soak) unless the -run pattern
// names it, for example go test -run '^TestSoakX$': such tests are not for
// CI or a plain go test ./...
func SkipUnlessSelected(t testing.TB) {
	t.Helper()
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" || !regexp.MustCompile(`\b`+regexp.QuoteMeta(t.Name())+`\b`).MatchString(f.Value.String()) {
		t.Skipf("a soak: runs only when -run names it (go test -run '^%s$')", t.Name())
	}
}
