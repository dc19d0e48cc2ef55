package respcache

import "github.com/prometheus/client_golang/prometheus"

var (
	hitsDesc = prometheus.NewDesc("consentgate_response_cache_hits_total",
		"Rewritten responses served from the response cache: no decoding, rewriting or encoding.", nil, nil)
	missesDesc = prometheus.NewDesc("consentgate_response_cache_misses_total",
		"Response cache lookups that found nothing, so the body was rewritten.", nil, nil)
	evictionsDesc = prometheus.NewDesc("consentgate_response_cache_evictions_total",
		"Entries the response cache dropped to make room for others.", nil, nil)
	refusedDesc = prometheus.NewDesc("consentgate_response_cache_refused_total",
		"Responses the cache did not store, by reason: admission (used less than what it would displace), too_large (above the largest entry), busy (too many waiting to be stored).",
		[]string{"reason"}, nil)
	bytesDesc = prometheus.NewDesc("consentgate_response_cache_bytes",
		"What the response cache's entries cost now: their bytes and a fixed overhead each.", nil, nil)
	maxBytesDesc = prometheus.NewDesc("consentgate_response_cache_max_bytes",
		"The response cache's bound.", nil, nil)
)

// Describe sends the descriptors of the cache's metrics: with Collect, a
// Cache is a prometheus.Collector the proxy registers on its registry.
func (c *Cache) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{hitsDesc, missesDesc, evictionsDesc, refusedDesc, bytesDesc, maxBytesDesc} {
		ch <- d
	}
}

// Collect sends the cache's metrics: counts since New, and the bytes in
// use and the bound. A nil Cache sends zeros.
func (c *Cache) Collect(ch chan<- prometheus.Metric) {
	st := c.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(hitsDesc, st.Hits)
	counter(missesDesc, st.Misses)
	counter(evictionsDesc, st.Evictions)
	counter(refusedDesc, st.RefusedAdmission, refusalNames[refusedAdmission])
	counter(refusedDesc, st.RefusedTooLarge, refusalNames[refusedTooLarge])
	counter(refusedDesc, st.RefusedBusy, refusalNames[refusedBusy])
	ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.GaugeValue, float64(c.Bytes()))
	ch <- prometheus.MustNewConstMetric(maxBytesDesc, prometheus.GaugeValue, float64(c.MaxBytes()))
}
