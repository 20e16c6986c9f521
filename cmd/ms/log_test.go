package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
)

func TestParseLogFormat(t *testing.T) {
	tests := []struct {
		args   []string
		format string
		rest   string
		bad    bool
	}{
		{[]string{"dial", "x"}, "text", "dial x", false},
		{[]string{"--log-format", "json", "dial", "x"}, "json", "dial x", false},
		{[]string{"--log-format=json", "id"}, "json", "id", false},
		{[]string{"-log-format", "text", "id"}, "text", "id", false},
		{[]string{"--log-format"}, "", "", true},
		{[]string{"--log-format", "xml", "id"}, "", "", true},
	}
	for _, tt := range tests {
		f, rest, err := parseLogFormat(tt.args)
		if (err != nil) != tt.bad || f != tt.format || strings.Join(rest, " ") != tt.rest {
			t.Errorf("parseLogFormat(%q) = %q, %q, %v", tt.args, f, rest, err)
		}
	}
}

// TestLogFormatJSON: with --log-format json every stderr line of a failed
// dial is a JSON object naming the command, at level ERROR; the text
// format is the usual "ms dial: ..." line.
func TestLogFormatJSON(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "net:" + l.Addr().String() + "~noauth"
	l.Close() // nothing listens there now: the dial is refused
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--log-format", "json", "dial", addr}, strings.NewReader(""), &stdout, &stderr)
	if code != exitFailure {
		t.Errorf("exit %d, want %d; stderr %s", code, exitFailure, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, line := range lines {
		var rec struct{ Time, Level, Msg, Cmd string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line %q is not JSON: %v", line, err)
		}
		if rec.Cmd != "ms dial" || rec.Time == "" || rec.Msg == "" {
			t.Errorf("record %+v", rec)
		}
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, `"level":"ERROR"`) || !strings.Contains(last, "refused") {
		t.Errorf("last line %s, want an ERROR saying the dial was refused", last)
	}
	stderr.Reset()
	run(context.Background(), []string{"dial", addr}, strings.NewReader(""), &stdout, &stderr)
	if !strings.HasPrefix(stderr.String(), "ms dial: ") || strings.Contains(stderr.String(), "{") {
		t.Errorf("text format: %q", stderr.String())
	}
}

// FuzzParseLogFormat: any leading arguments are taken off or refused,
// never a panic; what is left is a suffix of the input.
func FuzzParseLogFormat(f *testing.F) {
	f.Add("--log-format\x00json\x00dial")
	f.Add("--log-format=xml")
	f.Add("--log-format")
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\x00")
		format, rest, err := parseLogFormat(args)
		if err != nil {
			return
		}
		if format != logText && format != logJSON {
			t.Fatalf("format %q", format)
		}
		if len(rest) > len(args) || strings.Join(rest, "\x00") != strings.Join(args[len(args)-len(rest):], "\x00") {
			t.Fatalf("rest %q is not a suffix of %q", rest, args)
		}
	})
}
