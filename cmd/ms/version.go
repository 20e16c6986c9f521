package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

var versionCmd = &command{
	name:    "version",
	summary: "print the version of ms and of the Go toolchain that built it",
	detail: `Print one line: the module version of ms (or "devel" when built from a
checkout), the VCS revision and time when the build recorded them (with
"+dirty" for uncommitted changes), and the Go version.`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
		return func(ctx context.Context, e *env, args []string) int {
			if len(args) != 0 {
				e.errorf("unexpected arguments %q", args)
				return exitUsage
			}
			fmt.Fprintln(e.stdout, versionLine())
			return exitOK
		}
	},
}

func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "ms (no build information)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	s := "ms " + v
	var rev, at, dirty string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			at = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		s += " " + rev + dirty
		if at != "" {
			s += " " + at
		}
	}
	return s + " " + bi.GoVersion
}
