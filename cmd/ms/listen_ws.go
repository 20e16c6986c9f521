package main

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/scheme/ws"
)

// wsTransport returns the ws transport of ms listen: --ws-origin sets its
// origin policy, --http-dir or --http-proxy its plain-HTTP handler, and its log (refused
// origins, malformed requests) goes to stderr.
func wsTransport(e *env, o *listenOpts) (*ws.Transport, error) {
	opts := &ws.Options{
		OriginPatterns: o.wsOrigins,
		ErrorLog:       log.New(lineWriter{e}, "", 0),
	}
	if o.httpDir != "" {
		fi, err := os.Stat(o.httpDir)
		if err != nil {
			return nil, fmt.Errorf("--http-dir: %w", err)
		}
		if !fi.IsDir() {
			return nil, usageError{fmt.Errorf("--http-dir: %s is not a directory", o.httpDir)}
		}
		opts.Handler = http.FileServer(http.Dir(o.httpDir))
	}
	if o.httpProxy != "" {
		if o.httpDir != "" {
			return nil, usageError{fmt.Errorf("--http-dir and --http-proxy both say what answers plain HTTP; give one")}
		}
		u, err := url.Parse(o.httpProxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usageError{fmt.Errorf("--http-proxy %q: want http://HOST:PORT[/PATH] or https://HOST:PORT[/PATH]", o.httpProxy)}
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.ErrorLog = log.New(lineWriter{e}, "--http-proxy: ", 0)
		opts.Handler = rp
	}
	return ws.New(opts), nil
}

// lineWriter sends what a log.Logger writes to env.errorf, one line each.
type lineWriter struct{ e *env }

func (w lineWriter) Write(p []byte) (int, error) {
	w.e.errorf("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// logPageURLs prints, for each ws~shs alternative the listener
// advertises, the URL of the page --http-dir serves with that address in
// its query, as the demo page of interop/browser reads it.
func logPageURLs(e *env, a *ms.Addr) {
	for _, m := range a.Multi() {
		if m[0].Name != "ws" || !hasSection(m, "shs") {
			continue
		}
		page := "http" + strings.TrimPrefix(m[0].String(), "ws") // ws://HOST:PORT
		e.infof("page: %s/?addr=%s", page, url.QueryEscape(m.String()))
	}
}
