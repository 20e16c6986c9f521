// Command ms dials and listens on multiserver addresses from the shell: it
// makes keys, pipes stdin/stdout to a connection like netcat, echoes,
// forwards connections to a TCP service and tunnels local TCP ports over
// any stack like ssh -L. It knows the stacks of package multiserver plus
// serial.
//
// Expose a local TCP service over shs, admitting one client key, and reach
// it from another machine through a local port:
//
//	server$ ms listen --forward 127.0.0.1:8080 --allow @<client id> 'net:0.0.0.0:8008~shs'
//	client$ ms dial --local 127.0.0.1:9090 'net:server.example:8008~shs:<server key>'
//	client$ curl http://127.0.0.1:9090/
//
// Usage:
//
//	ms demo                                 a tour on loopback
//	ms keygen [--out FILE] [--seed HEX64]   make a Scuttlebutt secret
//	ms id [--secret FILE]                   print the id of a secret
//	ms addr [--json] ADDRS                  parse an address
//	ms listen [flags] ADDRS                 listen, echo, forward or pipe
//	ms dial [flags] ADDRS                   pipe stdin/stdout or tunnel
//	ms probe [flags] ADDRS                  try each alternative, say why one fails
//	ms version                              print the version
//	ms resolve [flags] ADDRS                expand dns: alternatives
//	ms serial list [--json]                 list serial ports
//	ms lan announce [flags] ADDRESS         announce ADDRESS on the LAN
//	ms lan watch [--json]                   print peers announced on the LAN
//
// Run "ms help" for every flag. Output meant for scripts (addresses, ids,
// data) goes to stdout; logs and progress go to stderr. Exit status is 0 on
// success, 1 when the operation failed, 2 for bad usage or input, and 3
// when a connection ended without proof that the exchange was complete
// (see "ms help").
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks for a clean stop; a second one kills, as
	// signal handling is then back to the default.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the operation failed (dial refused, file exists, ...)
	exitUsage   = 2 // bad flags, arguments or address
	// exitUnconfirmed: the conn ended without proof that the exchange was
	// complete (the peer closed without the shs goodbye after this side's,
	// as ssb-server does; or a peer without shs closed having sent nothing).
	exitUnconfirmed = 3
)

// env is what a command reads and writes instead of the process globals,
// so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	name           string       // the command, for messages: "ms listen"
	log            *slog.Logger // nil means text to stderr
}

// errorf logs one line at level ERROR (WARN if it starts with
// "warning"); in the text format: "ms CMD: message" on stderr.
func (e *env) errorf(format string, args ...any) {
	msg := oneLine(fmt.Sprintf(format, args...))
	level := slog.LevelError
	if strings.HasPrefix(msg, "warning") {
		level = slog.LevelWarn
	}
	e.logger().Log(context.Background(), level, msg)
}

// infof logs one line of progress at level INFO; in the text format it
// looks like errorf's.
func (e *env) infof(format string, args ...any) {
	e.logger().Info(oneLine(fmt.Sprintf(format, args...)))
}

// logger returns the command's logger: every line ms writes to stderr goes
// through it (see --log-format).
func (e *env) logger() *slog.Logger {
	if e.log == nil { // an env made by a test or for help text
		return newLogger(logText, e.stderr, e.name)
	}
	return e.log
}

// raw writes text to stderr as it is (a usage text, a caret under an
// error) in the text log format; in the json format it logs it.
func (e *env) raw(text string) {
	if _, ok := e.logger().Handler().(*textHandler); ok {
		io.WriteString(e.stderr, text)
		return
	}
	e.logger().Info(strings.TrimRight(text, "\n"))
}

// run runs the ms command line args (without the program name). ctx is
// cancelled on SIGINT and SIGTERM; commands that serve stop then.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	logFormat, args, err := parseLogFormat(args)
	if err != nil {
		fmt.Fprintf(stderr, "ms: %v\n", err)
		return exitUsage
	}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := lookup(args[1], args[2:]...); c != nil {
				fs := c.flags(&env{stdout: stdout, stderr: stdout, name: "ms " + c.name})
				fs.SetOutput(stdout)
				fs.Usage()
				return exitOK
			}
			fmt.Fprintf(stderr, "ms help: unknown command %q\n", args[1])
			return exitUsage
		}
		help(stdout)
		return exitOK
	}
	c := lookup(name, args[1:]...)
	if c == nil {
		fmt.Fprintf(stderr, "ms: unknown command %q; run 'ms help'\n", name)
		return exitUsage
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: &syncWriter{w: stderr}, name: "ms " + c.name}
	e.log = newLogger(logFormat, e.stderr, e.name)
	return c.run(ctx, e, args[1:])
}
