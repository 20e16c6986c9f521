package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats for --log-format: every line ms writes to stderr goes through
// log/slog. "text" writes "ms CMD: message" lines, as ms always has;
// "json" writes one JSON object a line, with the command in "cmd".
const (
	logText = "text"
	logJSON = "json"
)

// parseLogFormat takes a leading --log-format FORMAT (or
// --log-format=FORMAT) off args.
func parseLogFormat(args []string) (format string, rest []string, err error) {
	format = logText
	for len(args) > 0 {
		a := args[0]
		var v string
		switch {
		case a == "--log-format" || a == "-log-format":
			if len(args) < 2 {
				return "", nil, fmt.Errorf("--log-format needs a value: text or json")
			}
			v, args = args[1], args[2:]
		case strings.HasPrefix(a, "--log-format=") || strings.HasPrefix(a, "-log-format="):
			_, v, _ = strings.Cut(a, "=")
			args = args[1:]
		default:
			return format, args, nil
		}
		if v != logText && v != logJSON {
			return "", nil, fmt.Errorf("--log-format %q: want text or json", v)
		}
		format = v
	}
	return format, args, nil
}

// newLogger returns the logger of a command named name writing to w.
func newLogger(format string, w io.Writer, name string) *slog.Logger {
	if format == logJSON {
		return slog.New(slog.NewJSONHandler(w, nil)).With("cmd", name)
	}
	return slog.New(&textHandler{w: w, name: name})
}

// textHandler writes "name: message" and then any attributes as
// key=value, one line per record.
type textHandler struct {
	w     io.Writer
	name  string
	attrs []slog.Attr
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.name)
	b.WriteString(": ")
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &textHandler{w: h.w, name: h.name, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup is not used by ms; attributes stay flat.
func (h *textHandler) WithGroup(string) slog.Handler { return h }
