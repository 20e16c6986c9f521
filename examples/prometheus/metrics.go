// Package msprom exports what multiserver Dialers and Listeners do to
// Prometheus: the same counters, gauges and histograms as package msexpvar,
// as Prometheus metrics.
//
// It lives in a module of its own (examples/prometheus) so that the core
// module does not depend on the Prometheus client.
//
//	m := msprom.New(prometheus.DefaultRegisterer)
//	lc := &multiserver.ListenConfig{Config: multiserver.Config{Trace: m.Trace()}}
//	http.Handle("/metrics", promhttp.Handler())
//
// The metrics, each with a "side" label ("accept" or "dial"):
//
//	multiserver_handshakes_total, multiserver_handshakes_in_flight,
//	multiserver_handshakes_ok_total,
//	multiserver_handshakes_failed_total{reason},
//	multiserver_conns_open, multiserver_bytes_read_total,
//	multiserver_bytes_written_total,
//	multiserver_handshake_seconds, multiserver_conn_lifetime_seconds
//
// and, without it, multiserver_accepted_total,
// multiserver_rejected_total{reason}, multiserver_dials_total,
// multiserver_dial_failed_total{reason}, multiserver_connects_total,
// multiserver_connect_failed_total{reason}, multiserver_dial_seconds and
// multiserver_connect_seconds. Reasons are multiserver.FailureReason's.
package msprom

import (
	"github.com/prometheus/client_golang/prometheus"

	ms "github.com/go-multiserver/multiserver"
	"github.com/go-multiserver/multiserver/msexpvar"
)

// Metrics holds the Prometheus collectors fed by its Trace.
type Metrics struct {
	handshakes, ok, bytesRead, bytesWritten *prometheus.CounterVec
	failed                                  *prometheus.CounterVec
	inFlight, open                          *prometheus.GaugeVec
	handshakeSeconds, lifetime              *prometheus.HistogramVec

	accepted, dials, connects           prometheus.Counter
	rejected, dialFailed, connectFailed *prometheus.CounterVec
	dialSeconds, connectSeconds         prometheus.Histogram
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	const ns = "multiserver"
	side := []string{"side"}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	buckets := msexpvar.Buckets
	m := &Metrics{
		handshakes:       counter("handshakes_total", "Handshakes started.", side...),
		ok:               counter("handshakes_ok_total", "Handshakes that finished.", side...),
		failed:           counter("handshakes_failed_total", "Handshakes that failed, by reason.", "side", "reason"),
		bytesRead:        counter("bytes_read_total", "Bytes the application read over closed conns.", side...),
		bytesWritten:     counter("bytes_written_total", "Bytes the application wrote over closed conns.", side...),
		inFlight:         prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "handshakes_in_flight", Help: "Handshakes running now."}, side),
		open:             prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "conns_open", Help: "Conns made and not yet closed."}, side),
		handshakeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "handshake_seconds", Help: "Duration of successful handshakes.", Buckets: buckets}, side),
		lifetime:         prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "conn_lifetime_seconds", Help: "How long conns stayed open.", Buckets: buckets}, side),
		accepted:         prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "accepted_total", Help: "Conns the listening transports accepted."}),
		rejected:         counter("rejected_total", "Accepted conns closed before the handshake, by reason.", "reason"),
		dials:            prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "dials_total", Help: "Dial calls."}),
		dialFailed:       counter("dial_failed_total", "Dial calls that failed, by reason.", "reason"),
		connects:         prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "connects_total", Help: "Transport connects started."}),
		connectFailed:    counter("connect_failed_total", "Transport connects that failed, by reason.", "reason"),
		dialSeconds:      prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "dial_seconds", Help: "Duration of successful dials.", Buckets: buckets}),
		connectSeconds:   prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "connect_seconds", Help: "Duration of successful transport connects.", Buckets: buckets}),
	}
	reg.MustRegister(m.handshakes, m.ok, m.failed, m.bytesRead, m.bytesWritten, m.inFlight, m.open,
		m.handshakeSeconds, m.lifetime, m.accepted, m.rejected, m.dials, m.dialFailed, m.connects,
		m.connectFailed, m.dialSeconds, m.connectSeconds)
	return m
}

func sideOf(dialing bool) string {
	if dialing {
		return "dial"
	}
	return "accept"
}

// Trace returns the hooks that feed m; set it as Config.Trace of a Dialer,
// a ListenConfig, or both.
func (m *Metrics) Trace() *ms.Trace {
	return &ms.Trace{
		DialStart: func(ms.DialStartInfo) { m.dials.Inc() },
		DialDone: func(i ms.DialDoneInfo) {
			if i.Err != nil {
				m.dialFailed.WithLabelValues(ms.FailureReason(i.Err)).Inc()
				return
			}
			m.dialSeconds.Observe(i.Duration.Seconds())
		},
		ConnectStart: func(ms.ConnectInfo) { m.connects.Inc() },
		ConnectDone: func(i ms.ConnectInfo) {
			if i.Err != nil {
				m.connectFailed.WithLabelValues(i.Reason).Inc()
				return
			}
			m.connectSeconds.Observe(i.Duration.Seconds())
		},
		Accept: func(i ms.AcceptInfo) {
			m.accepted.Inc()
			if i.Err != nil {
				m.rejected.WithLabelValues(i.Reason).Inc()
			}
		},
		HandshakeStart: func(i ms.HandshakeInfo) {
			s := sideOf(i.Dialing)
			m.handshakes.WithLabelValues(s).Inc()
			m.inFlight.WithLabelValues(s).Inc()
		},
		HandshakeDone: func(i ms.HandshakeInfo) {
			s := sideOf(i.Dialing)
			m.inFlight.WithLabelValues(s).Dec()
			if i.Err != nil {
				m.failed.WithLabelValues(s, i.Reason).Inc()
				return
			}
			m.ok.WithLabelValues(s).Inc()
			m.open.WithLabelValues(s).Inc()
			m.handshakeSeconds.WithLabelValues(s).Observe(i.Duration.Seconds())
		},
		Closed: func(i ms.CloseInfo) {
			s := sideOf(i.Dialing)
			m.open.WithLabelValues(s).Dec()
			m.bytesRead.WithLabelValues(s).Add(float64(i.Read))
			m.bytesWritten.WithLabelValues(s).Add(float64(i.Written))
			m.lifetime.WithLabelValues(s).Observe(i.Duration.Seconds())
		},
	}
}
