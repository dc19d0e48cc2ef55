package proxy

import (
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestEverySourceHasItsSeries: a request opted out by every signal source
// at once counts one in each source's series of its site. The children
// were a fixed [8]string: the ninth source (registry) panicked.
func TestEverySourceHasItsSeries(t *testing.T) {
	set, err := rules.Compile(config.Default("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	m := NewMetrics(prometheus.NewRegistry())
	sm := m.forSet(set)[0]
	all := signals.Source(1<<signals.NumSources - 1)
	if got := len(all.Names()); got != signals.NumSources || got != len(signals.SourceNames()) {
		t.Fatalf("%d sources in the full set, want %d", got, signals.NumSources)
	}
	all.Each(func(i int) { sm.sources[i].Inc() }) // what Handle does
	for _, src := range signals.SourceNames() {
		if v := testutil.ToFloat64(m.OptOutSources.WithLabelValues(sm.name, src)); v != 1 {
			t.Errorf("consentgate_optout_sources_total{source=%q} = %v, want 1", src, v)
		}
	}
}

// TestDropSitesDeletesEverySeries: a removed site leaves no series in any
// vector, those counted per request included.
func TestDropSitesDeletesEverySeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Requests.WithLabelValues("gone", decisionOptedOut).Inc()
	m.OptOutSources.WithLabelValues("gone", "gpc").Inc()
	m.ElementsRemoved.WithLabelValues("gone", "advertising", "x", "remove").Inc()
	m.CookiesDropped.WithLabelValues("gone", "advertising", "request").Inc()
	m.CookiesExpired.WithLabelValues("gone", "advertising").Inc()
	m.BytesRewritten.WithLabelValues("gone").Inc()
	m.RewriteDuration.WithLabelValues("gone").Observe(1)
	m.UpstreamDur.WithLabelValues("gone").Observe(1)
	m.UpstreamErrors.WithLabelValues("gone", reasonRefused).Inc()
	m.FailClosed.WithLabelValues("gone", failUndecodable).Inc()
	m.RuntimeBlocked.WithLabelValues("gone", "advertising", "x").Inc()
	m.RuntimeReports.WithLabelValues("gone", "ok").Inc()
	m.Requests.WithLabelValues("kept", decisionOptedOut).Inc()
	m.dropSites([]string{"gone"})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			for _, lp := range mm.GetLabel() {
				if lp.GetName() == "site" && lp.GetValue() == "gone" {
					t.Errorf("%s still has a series of the removed site", mf.GetName())
				}
				kept = kept || lp.GetName() == "site" && lp.GetValue() == "kept"
			}
		}
	}
	if !kept {
		t.Error("the series of a site still there were deleted too")
	}
}
