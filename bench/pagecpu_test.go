package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestStoredMember: a page's gzip with a stored member appended decodes
// to the page and the member's text, as the cold upstream sends it.
func TestStoredMember(t *testing.T) {
	var page bytes.Buffer
	zw := gzip.NewWriter(&page)
	zw.Write([]byte("<html>page</html>")) //nolint:errcheck
	zw.Close()                            //nolint:errcheck
	body := appendStoredMember(page.Bytes(), []byte("<!-- 42 -->"))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "<html>page</html><!-- 42 -->" {
		t.Fatalf("decoded %q", got)
	}
}

// TestCacheHits: the warm series turns on only for a cache metric that
// counts hits, by name or by label, and only once it has counted one.
func TestCacheHits(t *testing.T) {
	for _, tt := range []struct {
		name   string
		metric func(reg *prometheus.Registry)
		want   float64
	}{
		{"no cache metric", func(reg *prometheus.Registry) {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: "consentgate_requests_total"})
			reg.MustRegister(c)
			c.Add(5)
		}, 0},
		{"hits by name", func(reg *prometheus.Registry) {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: "consentgate_response_cache_hits_total"})
			reg.MustRegister(c)
			c.Add(3)
		}, 3},
		{"hits by label", func(reg *prometheus.Registry) {
			c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentgate_respcache_lookups_total"}, []string{"result"})
			reg.MustRegister(c)
			c.WithLabelValues("hit").Add(2)
			c.WithLabelValues("miss").Add(7)
		}, 2},
		{"a cache's other counts", func(reg *prometheus.Registry) {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: "consentgate_response_cache_misses_total"})
			reg.MustRegister(c)
			c.Add(4)
		}, 0},
		{"no hit yet", func(reg *prometheus.Registry) {
			reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "consentgate_response_cache_hits_total"}))
		}, 0},
	} {
		reg := prometheus.NewRegistry()
		tt.metric(reg)
		if got := cacheHits(t, reg); got != tt.want {
			t.Errorf("%s: cacheHits = %v, want %v", tt.name, got, tt.want)
		}
	}
}
