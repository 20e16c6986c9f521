package multiserver_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEGoBlocks keeps README.md's Go code compiling: each ```go
// block must be, line for line, the body of a readme function in
// readme_snippets_test.go (compiled by go vet and go test) or, for the
// gRPC block, in the nested module's examples/grpc/readme_snippets_test.go
// (compiled by its own CI step), apart from lines marked "not in README".
// Lines are compared without leading space and with runs of spaces
// folded, since gofmt aligns comments differently from the README.
func TestREADMEGoBlocks(t *testing.T) {
	readme := read(t, "README.md")
	var bodies [][]string
	for _, f := range []string{"readme_snippets_test.go", "examples/grpc/readme_snippets_test.go"} {
		for _, m := range regexp.MustCompile(`(?s)\nfunc readme\w*\([^)]*\) \{\n(.*?)\n\}\n`).FindAllStringSubmatch(read(t, f), -1) {
			var body []string
			for _, l := range strings.Split(m[1], "\n") {
				if !strings.HasSuffix(l, "// not in README") {
					body = append(body, l)
				}
			}
			bodies = append(bodies, norm(strings.Join(body, "\n")))
		}
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(readme, -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d Go blocks in README.md; the pattern is broken", len(blocks))
	}
	if len(bodies) != len(blocks) {
		t.Errorf("%d Go blocks in README.md, %d readme functions: one for each", len(blocks), len(bodies))
	}
	for i, b := range blocks {
		lines := norm(b[1])
		if !slices.ContainsFunc(bodies, func(body []string) bool { return slices.Equal(body, lines) }) {
			t.Errorf("README Go block %d is not the body of a readme function, line for line:\n%s", i+1, b[1])
		}
	}
}

var spaces = regexp.MustCompile(`\s+`)

func norm(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(spaces.ReplaceAllString(l, " "))
		// import lines and blank lines carry no code to check
		if l != "" && !strings.HasPrefix(l, "import ") {
			out = append(out, l)
		}
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
