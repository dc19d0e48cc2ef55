package proxy_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules/reload"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
)

// labelValues returns, for each series of the metric name in reg, the
// value of label.
func labelValues(t *testing.T, reg prometheus.Gatherer, name, label string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out = append(out, lp.GetValue())
				}
			}
		}
	}
	return out
}

// holderServer is a proxy on a reload.Holder, serving nothing: what it
// reports comes from swaps alone.
func holderServer(t *testing.T, config string) (*reload.Holder, *prometheus.Registry) {
	t.Helper()
	h := reload.NewHolder(nil)
	h.Grace = -1
	if _, err := h.ReloadData([]byte(config), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sig := signals.NewReader()
	t.Cleanup(sig.Close)
	srv, err := proxy.New(proxy.Options{Rules: h, Signals: sig, Metrics: proxy.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(t.Context()) }) //nolint:errcheck
	return h, reg
}

func sitesConfig(names ...string) string {
	c := "upstream: http://127.0.0.1:1\nsites:\n"
	for _, n := range names {
		c += fmt.Sprintf("  - name: %s\n    hosts: [%s.example]\n", n, n)
	}
	return c
}

// TestRulesInfoAtReload: consentgate_rules_info names the new set as soon
// as a reload swaps it in, without a request: an idle replica must not
// report the set it no longer uses.
func TestRulesInfoAtReload(t *testing.T) {
	h, reg := holderServer(t, sitesConfig("a"))
	if got := labelValues(t, reg, "consentgate_rules_info", "version"); !slices.Equal(got, []string{h.Load().Version()}) {
		t.Fatalf("at start: rules_info versions %v, want [%s]", got, h.Load().Version())
	}
	if _, err := h.ReloadData([]byte(sitesConfig("a", "b")), "b.yaml"); err != nil {
		t.Fatal(err)
	}
	if got := labelValues(t, reg, "consentgate_rules_info", "version"); !slices.Equal(got, []string{h.Load().Version()}) {
		t.Errorf("after a reload and no request: rules_info versions %v, want [%s]", got, h.Load().Version())
	}
	if got := labelValues(t, reg, "consentgate_requests_total", "site"); !slices.Contains(got, "b") {
		t.Errorf("after a reload that added site b: requests_total sites %v, want b among them", got)
	}
}

// TestReloadDropsRemovedSiteSeries: a reload that removes a site removes
// its series, so a fleet's metrics do not grow with every site it ever had.
func TestReloadDropsRemovedSiteSeries(t *testing.T) {
	h, reg := holderServer(t, sitesConfig("a", "b"))
	if _, err := h.ReloadData([]byte(sitesConfig("a")), "b.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"consentgate_requests_total", "consentgate_optout_sources_total",
		"consentgate_upstream_duration_seconds", "consentgate_upstream_errors_total", "consentgate_fail_closed_total",
		"consentgate_rewrite_duration_seconds", "consentgate_rewrite_bytes_total"} {
		got := labelValues(t, reg, name, "site")
		if slices.Contains(got, "b") {
			t.Errorf("%s: series of the removed site b are still exported", name)
		}
		if !slices.Contains(got, "a") {
			t.Errorf("%s: no series of site a (the test would pass vacuously)", name)
		}
	}
}

// TestFailureSeriesFromStart: the counters of failures exist before their
// first event, so rate() and alerts over them read 0, not "no data".
func TestFailureSeriesFromStart(t *testing.T) {
	_, reg := holderServer(t, sitesConfig("a"))
	for name, label := range map[string]string{
		"consentgate_upstream_errors_total":          "site",
		"consentgate_fail_closed_total":              "site",
		"consentgate_signals_parse_errors_total":     "signal",
		"consentgate_rules_reloads_total":            "result",
		"consentgate_requests_total":                 "site",
		"consentgate_rewrite_duration_seconds":       "site",
		"consentgate_upstream_duration_seconds":      "site",
		"consentgate_optout_sources_total":           "site",
		"consentgate_rules_loaded_timestamp_seconds": "",
	} {
		if label == "" {
			continue
		}
		if len(labelValues(t, reg, name, label)) == 0 {
			t.Errorf("%s has no series before its first event", name)
		}
	}
}
