package dnsaddr_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-multiserver/multiserver/dnsaddr"
	"github.com/go-multiserver/multiserver/internal/dnstest"
	"github.com/go-multiserver/multiserver/msaddr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Keys as they appear in addresses; the package does not decode them.
const (
	keyA = "6ilZq3kN0F+dXFHAPjAwMm87JEb/VdB+LC9eIMW3sa0="
	keyB = "ZqT6TWvfYVmXPLOv3P1NlRA/+YoGLFmCjXcIA5oXd4c="
)

// resolve resolves addr (one dns: alternative) against srv.
func resolve(t *testing.T, srv *dnstest.Server, addr string) (*dnsaddr.Result, error) {
	t.Helper()
	a, err := msaddr.ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := dnsaddr.Resolver{TXT: srv.Resolver()}
	return r.Resolve(ctx, a)
}

// got formats the alternatives of res as "ADDR<FROM" joined by " | ".
func got(res *dnsaddr.Result) string {
	var parts []string
	for _, a := range res.Alternatives {
		parts = append(parts, a.Addr.String()+" < "+a.From)
	}
	return strings.Join(parts, " | ")
}

func TestResolve(t *testing.T) {
	srv := dnstest.Start(t)
	long := "net:" + strings.Repeat("h", 250) + ".example:8008~shs:" + keyA // over 255 bytes: several strings
	srv.Set("_multiserver.several.example", "net:10.0.0.1:8008~shs:"+keyA, "ws://10.0.0.1:8989~shs:"+keyA)
	srv.Set("_multiserver.split.example", long)
	srv.SetStrings("_multiserver.strings.example", []string{"net:10.0.0.1:80", "08~shs:", keyA})
	srv.Set("_multiserver.list.example", "ws://10.0.0.2:1~shs:"+keyA+";net:10.0.0.2:2~shs:"+keyA+";unix:/run/x~noauth")
	srv.Set("_multiserver.outer.example", "net:10.0.0.3:1~shs:"+keyA+";dns:inner.example;net:10.0.0.3:3~shs:"+keyA)
	srv.Set("_multiserver.inner.example", "net:10.0.0.4:1~shs:"+keyA, "net:10.0.0.4:2~shs:"+keyB)
	srv.Set("_multiserver.mixed.example", "net:10.0.0.5:1~shs:"+keyB, "net:10.0.0.5:2~shs:"+keyA)
	srv.Set("_multiserver.bad-and-good.example", "net:10.0.0.6:1~~shs", "net:10.0.0.6:2~shs:"+keyA)
	srv.Set("_multiserver.dup.example", "net:10.0.0.7:1~shs:"+keyA+";net:10.0.0.7:1~shs:"+keyA)
	srv.Set("_multiserver.case.example", "net:10.0.0.8:1~shs:"+keyA)

	from := func(n string) string { return "_multiserver." + n + ".example." }
	tests := []struct {
		name, addr, want string
		problems         int
	}{
		{"several records", "dns:several.example",
			"net:10.0.0.1:8008~shs:" + keyA + " < " + from("several") + " | ws://10.0.0.1:8989~shs:" + keyA + " < " + from("several"), 0},
		{"record over 255 bytes", "dns:split.example", long + " < " + from("split"), 0},
		{"record of several strings", "dns:strings.example", "net:10.0.0.1:8008~shs:" + keyA + " < " + from("strings"), 0},
		{"a ; list keeps its order", "dns:list.example",
			"ws://10.0.0.2:1~shs:" + keyA + " < " + from("list") + " | net:10.0.0.2:2~shs:" + keyA + " < " + from("list") + " | unix:/run/x~noauth < " + from("list"), 0},
		{"recursion in place", "dns:outer.example",
			"net:10.0.0.3:1~shs:" + keyA + " < " + from("outer") + " | net:10.0.0.4:1~shs:" + keyA + " < " + from("inner") +
				" | net:10.0.0.4:2~shs:" + keyB + " < " + from("inner") + " | net:10.0.0.3:3~shs:" + keyA + " < " + from("outer"), 0},
		{"pin matches", "dns:mixed.example~shs:" + keyA, "net:10.0.0.5:2~shs:" + keyA + " < " + from("mixed"), 0},
		{"pin goes down into recursion", "dns:outer.example~shs:" + keyB, "net:10.0.0.4:2~shs:" + keyB + " < " + from("inner"), 1},
		{"bad record next to a good one", "dns:bad-and-good.example", "net:10.0.0.6:2~shs:" + keyA + " < " + from("bad-and-good"), 1},
		{"duplicates left out", "dns:dup.example", "net:10.0.0.7:1~shs:" + keyA + " < " + from("dup"), 0},
		{"name case and trailing dot", "dns:CASE.Example.", "net:10.0.0.8:1~shs:" + keyA + " < " + from("case"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := resolve(t, srv, tt.addr)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.addr, err)
			}
			if g := got(res); g != tt.want {
				t.Errorf("Resolve(%q)\n got %s\nwant %s", tt.addr, g, tt.want)
			}
			if len(res.Problems) != tt.problems {
				t.Errorf("problems %v; want %d", res.Problems, tt.problems)
			}
		})
	}

	// The bad record is reported, not dropped silently.
	res, _ := resolve(t, srv, "dns:bad-and-good.example")
	var re *dnsaddr.RecordError
	if !errors.As(res.Problems[0], &re) || re.Index != 0 || re.Record != "net:10.0.0.6:1~~shs" || !errors.Is(re, msaddr.ErrSyntax) {
		t.Errorf("problem %v: want a *RecordError for record 1", res.Problems[0])
	}
	// Each name is looked up once, and the lookups say what they gave.
	res, _ = resolve(t, srv, "dns:outer.example")
	if len(res.Lookups) != 2 || res.Lookups[0].Name != from("outer") || res.Lookups[1].Name != from("inner") || len(res.Lookups[1].Records) != 2 {
		t.Errorf("lookups %+v", res.Lookups)
	}
}

// TestResolveLargeAnswerOverTCP checks that an answer too large for UDP
// is fetched over TCP and used whole.
func TestResolveLargeAnswerOverTCP(t *testing.T) {
	srv := dnstest.Start(t)
	var recs, want []string
	for i := range 12 { // about 1 KiB of answer
		a := "net:10.1.0." + string(rune('a'+i)) + ".example:8008~shs:" + keyA
		recs = append(recs, a)
		want = append(want, a+" < _multiserver.big.example.")
	}
	srv.Set("_multiserver.big.example", recs...)
	res, err := resolve(t, srv, "dns:big.example")
	if err != nil {
		t.Fatal(err)
	}
	if g := got(res); g != strings.Join(want, " | ") {
		t.Errorf("got %s", g)
	}
	if srv.TCPQueries.Load() == 0 {
		t.Errorf("no query over TCP (UDP %d)", srv.UDPQueries.Load())
	}
}

func TestResolveFailures(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("_multiserver.loop-a.example", "dns:loop-b.example")
	srv.Set("_multiserver.loop-b.example", "dns:loop-a.example")
	srv.Set("_multiserver.self.example", "dns:SELF.example")
	for i := 1; i <= 5; i++ {
		srv.Set("_multiserver.d"+string(rune('0'+i))+".example", "dns:d"+string(rune('0'+i+1))+".example")
	}
	srv.Set("_multiserver.d6.example", "net:10.2.0.1:1~shs:"+keyA)
	srv.Set("_multiserver.d4.example", "dns:d5.example")
	var many []string
	for i := range 33 {
		many = append(many, "net:10.3.0.1:"+string(rune('0'+i%10))+string(rune('0'+i/10))+"~shs:"+keyA)
	}
	srv.Set("_multiserver.many.example", strings.Join(many, ";"))
	srv.Set("_multiserver.fanout.example", "dns:f1.example;dns:f1.example;dns:f1.example")
	srv.Set("_multiserver.f1.example", strings.Join(many[:12], ";"))
	srv.Set("_multiserver.keyb.example", "net:10.4.0.1:1~shs:"+keyB, "ws://10.4.0.1:2~shs:"+keyB)
	srv.Set("_multiserver.bad.example", "net:10.5.0.1:1~shs:"+keyA+";", "NET:x")
	srv.Set("_multiserver.nested-bad.example", "dns:nxdomain.example", "dns:bad!!name.example")

	tests := []struct {
		name, addr string
		is         []error
		msg        string
	}{
		{"loop", "dns:loop-a.example", []error{dnsaddr.ErrLoop}, "dns:loop-a.example -> dns:loop-b.example -> dns:loop-a.example"},
		{"self loop", "dns:self.example", []error{dnsaddr.ErrLoop}, "dns:self.example -> dns:self.example"},
		{"too deep", "dns:d1.example", []error{dnsaddr.ErrDepth}, "dns:d4.example -> dns:d5.example is deeper than 4"},
		{"too many", "dns:many.example", []error{dnsaddr.ErrTooMany}, "more than 32"},
		{"too many through recursion", "dns:fanout.example", []error{dnsaddr.ErrTooMany}, "more than 32"},
		{"pin filters everything", "dns:keyb.example~shs:" + keyA, []error{dnsaddr.ErrPin}, "none of the 2 alternatives at _multiserver.keyb.example. carries shs:" + keyA},
		{"nxdomain", "dns:nxdomain.example", []error{dnsaddr.ErrLookup}, "_multiserver.nxdomain.example."},
		{"only bad records", "dns:bad.example", []error{dnsaddr.ErrRecord, msaddr.ErrSyntax}, `record 2 at _multiserver.bad.example. "NET:x"`},
		{"nested failures", "dns:nested-bad.example", []error{dnsaddr.ErrLookup, dnsaddr.ErrName}, "nxdomain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := resolve(t, srv, tt.addr)
			var de *dnsaddr.Error
			if !errors.As(err, &de) || !errors.Is(err, dnsaddr.ErrNoAlternative) {
				t.Fatalf("Resolve(%q) = %v, %v; want a *dnsaddr.Error", tt.addr, res, err)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("error %q does not wrap %q", err, target)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if len(de.Lookups) == 0 {
				t.Errorf("error lists no lookups")
			}
		})
	}
	t.Run("nxdomain is not found", func(t *testing.T) {
		_, err := resolve(t, srv, "dns:nxdomain.example")
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("error %v: want a *net.DNSError with IsNotFound", err)
		}
	})
}

func TestResolveTimeout(t *testing.T) {
	srv := dnstest.Start(t)
	asked := srv.Silence("_multiserver.silent.example")
	a := msaddr.MustParse("dns:silent.example")[0]
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := dnsaddr.Resolver{TXT: srv.Resolver()}
	_, err := r.Resolve(ctx, a)
	<-asked // the query did reach the server
	var ne net.Error
	if !errors.Is(err, dnsaddr.ErrLookup) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v: want a lookup error that is a timeout", err)
	}
}

func TestResolveBadSection(t *testing.T) {
	var r dnsaddr.Resolver
	for _, s := range []string{"net:1.2.3.4:5", "dns", "dns:a:b", "dns:", "dns:a..b", "dns:a b", "dns:" + strings.Repeat("a", 64) + ".b"} {
		a, err := msaddr.ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Resolve(context.Background(), a); !errors.Is(err, dnsaddr.ErrName) {
			t.Errorf("Resolve(%q): %v; want ErrName", s, err)
		}
	}
}

// TestResolveRedactsSeeds checks that invite seeds, in a pin or in a
// record, never reach an error message.
func TestResolveRedactsSeeds(t *testing.T) {
	srv := dnstest.Start(t)
	const seed = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MDA="
	srv.Set("_multiserver.seeds.example", "net:10.6.0.1:1~shs:"+keyB+":"+seed, "net:10.6.0.1:2~~shs:"+keyB+":"+seed)
	_, err := resolve(t, srv, "dns:seeds.example~shs:"+keyA+":"+seed)
	if err == nil || strings.Contains(err.Error(), seed) || !strings.Contains(err.Error(), "shs:"+keyA+":***") {
		t.Errorf("error %v: want the seeds redacted", err)
	}
}

// TestServer checks that Server asks the server it is given and that its
// errors name that server, not the system's.
func TestServer(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set("_multiserver.here.example", "net:10.7.0.1:1~shs:"+keyA)
	r := dnsaddr.Resolver{TXT: dnsaddr.Server(srv.Addr)}
	res, err := r.Resolve(context.Background(), msaddr.MustParse("dns:here.example")[0])
	if err != nil || len(res.Alternatives) != 1 {
		t.Fatalf("Resolve: %v, %v", res, err)
	}
	_, err = r.Resolve(context.Background(), msaddr.MustParse("dns:nxdomain.example")[0])
	if err == nil || !strings.Contains(err.Error(), "on "+srv.Addr) {
		t.Errorf("error %v does not name the server %s", err, srv.Addr)
	}
}
