package registry

import (
	"github.com/consentgate/consentgate/proxy/internal/metricdef"
	"github.com/prometheus/client_golang/prometheus"
)

// Lookup results, the label values of consentgate_registry_lookups_total.
const (
	ResultHit     = "hit"     // answered from the cache
	ResultMiss    = "miss"    // not cached, answered by the registry within the budget
	ResultTimeout = "timeout" // not cached, no answer within the budget: other signals only
	ResultError   = "error"   // not cached, the registry failed or is down: other signals only
	ResultStale   = "stale"   // a cached opt-out served while it cannot be confirmed
	ResultShed    = "shed"    // not cached, too many lookups in flight: other signals only
)

type metrics struct {
	hit, miss, timeouts, errors, stale, shed prometheus.Counter
	requests                                 *prometheus.CounterVec
	duration                                 *prometheus.HistogramVec
	up                                       prometheus.Gauge
	invalidations                            prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	lookups := metricdef.CounterVec("registry", "lookups_total", "Account lookups by result: hit and miss answered; timeout, error and shed fell back to the other signals; stale served a cached opt-out the registry could not confirm.", "result")
	m := &metrics{
		hit: lookups.WithLabelValues(ResultHit), miss: lookups.WithLabelValues(ResultMiss),
		timeouts: lookups.WithLabelValues(ResultTimeout), errors: lookups.WithLabelValues(ResultError),
		stale: lookups.WithLabelValues(ResultStale), shed: lookups.WithLabelValues(ResultShed),
		requests:      metricdef.CounterVec("registry", "requests_total", "Commands sent to the registry by operation (get, set, del, ping) and result (ok, error).", "op", "result"),
		duration:      metricdef.HistogramVec("registry", "request_duration_seconds", "Round trip of one registry command (get, set, del).", []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}, "op"),
		up:            metricdef.Gauge("registry", "up", "1 when the last exchange with the registry succeeded, else 0."),
		invalidations: metricdef.Counter("registry", "invalidations_total", "Invalidation messages from the registry (an account's opt-out changed on some replica, or every cached answer must be checked again)."),
	}
	for _, op := range []string{"get", "set", "del", "ping"} {
		m.requests.WithLabelValues(op, "ok")
		m.requests.WithLabelValues(op, "error")
	}
	if reg != nil {
		reg.MustRegister(lookups, m.requests, m.duration, m.up, m.invalidations)
	}
	return m
}

func (m *metrics) request(op string, ok bool) {
	r := "ok"
	if !ok {
		r = "error"
	}
	m.requests.WithLabelValues(op, r).Inc()
}
