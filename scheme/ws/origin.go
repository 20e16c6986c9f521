package ws

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/go-multiserver/multiserver/stack"
)

// originPolicy decides which browser pages may open a WebSocket on a
// listener. Browsers send the page's origin with every upgrade request
// and let any page connect anywhere; the check is the server's. It exists
// for services that trust where a conn comes from: a page on any site
// the user visits can reach a ws~noauth listener on 127.0.0.1, which
// has no other defence. shs needs no such check (the page must know the
// server's key and the app key, and proves a key of its own), so a
// listener whose stack authenticates peers accepts every origin, as the
// JavaScript ws plugin does for every stack.
type originPolicy struct {
	any      bool     // no check: every origin, "null" included
	patterns []string // Options.OriginPatterns, lowercased
}

// newOriginPolicy returns the policy of a listener started with ctx (see
// stack.WithPeerAuthentication). Options.OriginPatterns, when set, is
// the whole policy for every stack; a malformed pattern is an error here,
// at Listen, not at the first browser that connects.
func (t *Transport) newOriginPolicy(ctx context.Context) (originPolicy, error) {
	pats := t.opts.OriginPatterns
	if len(pats) == 0 {
		return originPolicy{any: stack.PeerAuthentication(ctx)}, nil
	}
	p := originPolicy{patterns: make([]string, len(pats))}
	for i, pat := range pats {
		if _, err := path.Match(pat, ""); err != nil || pat == "" {
			return originPolicy{}, fmt.Errorf("%w: %q: want a host pattern such as example.com, *.example.com or https://app.example.com", ErrOriginPattern, pat)
		}
		p.patterns[i] = strings.ToLower(pat)
	}
	return p, nil
}

// check returns nil if the upgrade request r may proceed: it has no
// Origin header (not from a browser: Node peers, Go peers), its origin
// has the host and port the request was sent to (the page came from this
// listener), or the origin matches a pattern: "host[:port]" patterns
// match the origin's host and port, "scheme://host[:port]" patterns the
// scheme too, with path.Match wildcards, ignoring case.
func (p originPolicy) check(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if p.any || origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	if err == nil {
		for _, pat := range p.patterns {
			target := u.Host
			if strings.Contains(pat, "://") {
				target = u.Scheme + "://" + u.Host
			}
			if ok, _ := path.Match(pat, strings.ToLower(target)); ok {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: page origin %q on host %q", ErrOrigin, origin, r.Host)
}
