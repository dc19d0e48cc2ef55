package metricdef

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestNames: each constructor names its metric consentgate_<sub>_<name>
// (consentgate_<name> without a subsystem), with its help and labels.
func TestNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	cv := CounterVec("rewrite", "elements_total", "Elements.", "site", "vendor")
	cv.WithLabelValues("a", "b").Inc()
	c := Counter("", "panics_total", "Panics.")
	c.Inc()
	gv := GaugeVec("canary", "leaking", "Leaking.", "site")
	gv.WithLabelValues("a").Set(1)
	g := Gauge("registry", "up", "Up.")
	g.Set(1)
	hv := HistogramVec("upstream", "duration_seconds", "Time.", []float64{.5, 1}, "site")
	hv.WithLabelValues("a").Observe(.7)
	reg.MustRegister(cv, c, gv, g, hv)
	want := `
# HELP consentgate_canary_leaking Leaking.
# TYPE consentgate_canary_leaking gauge
consentgate_canary_leaking{site="a"} 1
# HELP consentgate_panics_total Panics.
# TYPE consentgate_panics_total counter
consentgate_panics_total 1
# HELP consentgate_registry_up Up.
# TYPE consentgate_registry_up gauge
consentgate_registry_up 1
# HELP consentgate_rewrite_elements_total Elements.
# TYPE consentgate_rewrite_elements_total counter
consentgate_rewrite_elements_total{site="a",vendor="b"} 1
# HELP consentgate_upstream_duration_seconds Time.
# TYPE consentgate_upstream_duration_seconds histogram
consentgate_upstream_duration_seconds_bucket{site="a",le="0.5"} 0
consentgate_upstream_duration_seconds_bucket{site="a",le="1"} 1
consentgate_upstream_duration_seconds_bucket{site="a",le="+Inf"} 1
consentgate_upstream_duration_seconds_sum{site="a"} 0.7
consentgate_upstream_duration_seconds_count{site="a"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
