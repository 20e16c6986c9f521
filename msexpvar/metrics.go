// Package msexpvar publishes what multiserver Dialers and Listeners do
// through the standard expvar package: counters by outcome and reason,
// conns and handshakes in flight, bytes moved, and latency histograms.
//
// A Metrics is a multiserver.Trace and an expvar.Var:
//
//	m := msexpvar.New()
//	expvar.Publish("multiserver", m)
//	lc := &multiserver.ListenConfig{Config: multiserver.Config{Trace: m.Trace()}}
//
// and /debug/vars (expvar.Handler) shows, under "multiserver":
//
//	{"accept": {"accepted": 12, "handshakes": 11, "in_flight": 1, "ok": 9,
//	  "failed": {"network-key": 1, "refused": 1}, "open": 3,
//	  "bytes_read": 5120, "bytes_written": 5120,
//	  "handshake_seconds": {"0.001": 0, "0.0025": 4, ..., "+Inf": 9, "count": 9, "sum": 0.021}},
//	 "dial": {"dials": 4, "connects": 5, "connect_failed": {"connect": 1}, ...}}
//
// The counters only grow; "in_flight" and "open" are gauges. Histogram
// buckets are cumulative, as in Prometheus: each counts the observations
// at or below its bound in seconds.
package msexpvar

import (
	"expvar"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	ms "github.com/go-multiserver/multiserver"
)

// Buckets are the upper bounds, in seconds, of the latency histograms.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Side holds the counters of one side, accepting or dialing.
type Side struct {
	Handshakes       expvar.Int // handshakes started
	InFlight         expvar.Int // handshakes running now
	OK               expvar.Int // handshakes that finished
	Failed           expvar.Map // handshakes that failed, by multiserver.FailureReason
	Open             expvar.Int // conns made and not yet closed (traced by Trace.Closed)
	BytesRead        expvar.Int // bytes read by the application over closed conns
	BytesWritten     expvar.Int // bytes written by the application over closed conns
	HandshakeSeconds Histogram  // duration of successful handshakes
	Lifetime         Histogram  // how long conns stayed open
}

// Metrics counts the events of every Dialer and Listener whose Trace it
// is. Its zero value is not ready; use New. It is safe for concurrent use.
type Metrics struct {
	// Accepting side.
	Accepted expvar.Int // conns the transports accepted
	Rejected expvar.Map // of those, closed before the handshake, by reason (refused, over-limit)
	Accept   Side

	// Dialing side.
	Dials          expvar.Int // DialContext calls
	DialFailed     expvar.Map // DialContext calls that failed, by reason
	DialSeconds    Histogram  // duration of successful DialContext calls
	Connects       expvar.Int // transport connects started, one per alternative tried
	ConnectFailed  expvar.Map // by reason
	ConnectSeconds Histogram  // duration of successful connects
	Dial           Side

	all expvar.Map
}

// New returns a Metrics with every counter at zero.
func New() *Metrics {
	m := &Metrics{}
	for _, h := range []*Histogram{&m.Accept.HandshakeSeconds, &m.Accept.Lifetime, &m.Dial.HandshakeSeconds, &m.Dial.Lifetime, &m.DialSeconds, &m.ConnectSeconds} {
		h.init(Buckets)
	}
	side := func(s *Side) *expvar.Map {
		v := new(expvar.Map)
		v.Set("handshakes", &s.Handshakes)
		v.Set("in_flight", &s.InFlight)
		v.Set("ok", &s.OK)
		v.Set("failed", &s.Failed)
		v.Set("open", &s.Open)
		v.Set("bytes_read", &s.BytesRead)
		v.Set("bytes_written", &s.BytesWritten)
		v.Set("handshake_seconds", &s.HandshakeSeconds)
		v.Set("lifetime_seconds", &s.Lifetime)
		return v
	}
	acc := side(&m.Accept)
	acc.Set("accepted", &m.Accepted)
	acc.Set("rejected", &m.Rejected)
	dial := side(&m.Dial)
	dial.Set("dials", &m.Dials)
	dial.Set("dial_failed", &m.DialFailed)
	dial.Set("dial_seconds", &m.DialSeconds)
	dial.Set("connects", &m.Connects)
	dial.Set("connect_failed", &m.ConnectFailed)
	dial.Set("connect_seconds", &m.ConnectSeconds)
	m.all.Set("accept", acc)
	m.all.Set("dial", dial)
	return m
}

// String returns the JSON form of every counter, for expvar.
func (m *Metrics) String() string { return m.all.String() }

// Trace returns the hooks that feed m; set it as Config.Trace of a Dialer,
// a ListenConfig, or both. Every call returns a new Trace over the same
// counters.
func (m *Metrics) Trace() *ms.Trace {
	side := func(dialing bool) *Side {
		if dialing {
			return &m.Dial
		}
		return &m.Accept
	}
	return &ms.Trace{
		DialStart: func(ms.DialStartInfo) { m.Dials.Add(1) },
		DialDone: func(i ms.DialDoneInfo) {
			if i.Err != nil {
				m.DialFailed.Add(ms.FailureReason(i.Err), 1)
				return
			}
			m.DialSeconds.Observe(i.Duration)
		},
		ConnectStart: func(ms.ConnectInfo) { m.Connects.Add(1) },
		ConnectDone: func(i ms.ConnectInfo) {
			if i.Err != nil {
				m.ConnectFailed.Add(i.Reason, 1)
				return
			}
			m.ConnectSeconds.Observe(i.Duration)
		},
		Accept: func(i ms.AcceptInfo) {
			m.Accepted.Add(1)
			if i.Err != nil {
				m.Rejected.Add(i.Reason, 1)
			}
		},
		HandshakeStart: func(i ms.HandshakeInfo) {
			s := side(i.Dialing)
			s.Handshakes.Add(1)
			s.InFlight.Add(1)
		},
		HandshakeDone: func(i ms.HandshakeInfo) {
			s := side(i.Dialing)
			s.InFlight.Add(-1)
			if i.Err != nil {
				s.Failed.Add(i.Reason, 1)
				return
			}
			s.OK.Add(1)
			s.Open.Add(1)
			s.HandshakeSeconds.Observe(i.Duration)
		},
		Closed: func(i ms.CloseInfo) {
			s := side(i.Dialing)
			s.Open.Add(-1)
			s.BytesRead.Add(i.Read)
			s.BytesWritten.Add(i.Written)
			s.Lifetime.Observe(i.Duration)
		},
	}
}

// A Histogram counts durations into fixed buckets. It is an expvar.Var
// whose JSON form maps each bucket's upper bound in seconds (and "+Inf")
// to the cumulative count, plus "count" and "sum" (seconds).
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // per bucket, not cumulative; last is +Inf
	sumNs  atomic.Int64
}

func (h *Histogram) init(bounds []float64) {
	h.bounds = bounds
	h.counts = make([]atomic.Uint64, len(bounds)+1)
}

// Observe adds one duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(h.bounds) && s > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

// Snapshot returns the bucket bounds (seconds), the cumulative count at
// each bound followed by the total, and the sum of all durations.
func (h *Histogram) Snapshot() (bounds []float64, cumulative []uint64, sum time.Duration) {
	cumulative = make([]uint64, len(h.counts))
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
		cumulative[i] = n
	}
	return h.bounds, cumulative, time.Duration(h.sumNs.Load())
}

// String returns the JSON form.
func (h *Histogram) String() string {
	bounds, cum, sum := h.Snapshot()
	var b strings.Builder
	b.WriteByte('{')
	for i, le := range bounds {
		b.WriteString(`"` + strconv.FormatFloat(le, 'g', -1, 64) + `": `)
		b.WriteString(strconv.FormatUint(cum[i], 10))
		b.WriteString(", ")
	}
	total := cum[len(cum)-1]
	b.WriteString(`"+Inf": ` + strconv.FormatUint(total, 10))
	b.WriteString(`, "count": ` + strconv.FormatUint(total, 10))
	b.WriteString(`, "sum": ` + strconv.FormatFloat(sum.Seconds(), 'g', -1, 64))
	b.WriteByte('}')
	return b.String()
}
