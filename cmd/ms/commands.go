package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// A command is one ms subcommand. setup declares its flags on fs and
// returns the function that runs it with the parsed values and the
// remaining arguments.
type command struct {
	name    string
	sub     string // a fixed first argument before the flags ("serial list"), if any
	args    string // synopsis of the arguments after the flags
	summary string // one line for the command list
	detail  string // what "ms CMD -h" says before the flags
	setup   func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) int
}

// commands lists the subcommands in the order help shows them.
var commands []*command

// lookup finds the command name; of several commands of that name (lan
// announce, lan watch), the one whose sub is the next argument in rest,
// else the first.
func lookup(name string, rest ...string) *command {
	var first *command
	for _, c := range commands {
		if c.name != name {
			continue
		}
		if first == nil {
			first = c
		}
		if c.sub != "" && len(rest) > 0 && rest[0] == c.sub {
			return c
		}
	}
	return first
}

// flags returns the command's flag set (with its runner discarded), for
// help and tests.
func (c *command) flags(e *env) *flag.FlagSet {
	fs, _ := c.flagSet(e)
	return fs
}

func (c *command) flagSet(e *env) (*flag.FlagSet, func(context.Context, *env, []string) int) {
	fs := flag.NewFlagSet("ms "+c.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	r := c.setup(fs)
	fs.Usage = func() { c.usage(fs.Output(), fs) }
	return fs, r
}

func (c *command) usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: ms %s", c.name)
	if c.sub != "" {
		fmt.Fprintf(w, " %s", c.sub)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, " [flags]")
	}
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintf(w, "\n\n%s\n", strings.TrimSpace(c.detail))
	if n > 0 {
		fmt.Fprint(w, "\nflags:\n")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

func (c *command) run(ctx context.Context, e *env, args []string) int {
	fs, r := c.flagSet(e)
	if c.sub != "" {
		if len(args) == 0 || args[0] != c.sub {
			if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
				c.usage(e.stdout, fs)
				return exitOK
			}
			var want []string
			for _, o := range commands {
				if o.name == c.name {
					want = append(want, "'ms "+o.name+" "+o.sub+"'")
				}
			}
			e.errorf("want %s", strings.Join(want, " or "))
			return exitUsage
		}
		args = args[1:]
	}
	// Usage asked for with -h goes to stdout, after a bad flag to stderr.
	var msg strings.Builder
	fs.SetOutput(&msg)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(e.stdout, msg.String())
			return exitOK
		}
		e.raw(msg.String())
		return exitUsage
	}
	fs.SetOutput(e.stderr)
	return r(ctx, e, fs.Args())
}

// usage is the short text for a bare "ms".
func usage(w io.Writer) {
	fmt.Fprint(w, "usage: ms COMMAND [flags] [args]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", strings.TrimSpace(c.name+" "+c.sub), c.summary)
	}
	fmt.Fprint(w, "\nFlags go before the arguments and may be written -flag or --flag.\n")
	fmt.Fprint(w, "ms --log-format json COMMAND ... logs one JSON object a line.\n")
	fmt.Fprint(w, "Run 'ms help' for every flag, 'ms help COMMAND' or 'ms COMMAND -h' for one command.\n")
}

// help documents every command and every flag.
func help(w io.Writer) {
	fmt.Fprint(w, `ms dials and listens on multiserver addresses, such as
    net:127.0.0.1:8008~shs:<key>;ws://127.0.0.1:8989~shs:<key>;unix:/run/app.sock~noauth
where ';' separates alternatives and '~' stacks a transform (shs, noauth) on a
transport (net, ws, wss, unix, onion to dial through Tor, serial such as
serial:/dev/ttyUSB0:115200). Data and results go to stdout, logs to stderr.

Exit status:
  0  success: the job was done (for a pipe: both sides ended cleanly)
  1  failure: the dial, listen or transfer failed; one line on stderr says why
  2  bad usage or input: flags, arguments, addresses, keys
  3  unconfirmed end: a pipe ended without proof that the exchange was
     complete. Either the peer closed without the shs goodbye after this
     side had sent all and said goodbye (ssb-server ends every conn so: the
     reply is probably whole), or a peer without shs closed having sent
     nothing (an shs server refuses a plain conn so)

Keys: --secret defaults to $HOME/.ssb/secret when it exists, otherwise a
fresh key is made for the run (said on stderr). --app-key defaults to the
Scuttlebutt main network key. Keys are standard base64 of 32 bytes, or ids
of the form @<base64>.ed25519.

Logs: --log-format json, before the command, writes every log line as one
JSON object (log/slog: time, level, msg, cmd); the default text format
writes "ms COMMAND: message". Progress lines are level INFO, warnings
WARN, failures ERROR.

`)
	usage(w)
	for _, c := range commands {
		fmt.Fprint(w, "\n")
		e := &env{stdout: w, stderr: w, name: "ms " + c.name}
		fs := c.flags(e)
		c.usage(w, fs)
	}
}

// oneLine folds a multi-line message (such as a multi-alternative dial
// error) onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, ":\n\t", ": ")
	s = strings.ReplaceAll(s, "\n\t", "; ")
	return strings.ReplaceAll(s, "\n", "; ")
}

func init() {
	commands = []*command{demoCmd, keygenCmd, idCmd, addrCmd, listenCmd, dialCmd, probeCmd, resolveCmd, serialCmd, lanAnnounceCmd, lanWatchCmd, versionCmd}
}
