// Package metricdef declares consentgate's Prometheus metrics in one
// shape: consentgate_<subsystem>_<name> (no subsystem: consentgate_<name>),
// a help text, and label names from closed sets. The declarations of
// package proxy and its parts (canary, registry) use it, so every metric
// gets the namespace the same way and a declaration is one line.
//
// It registers nothing: the caller registers on the Registerer it was
// given (never the default one).
package metricdef

import "github.com/prometheus/client_golang/prometheus"

// Namespace prefixes every consentgate metric.
const Namespace = "consentgate"

// CounterVec returns consentgate_<sub>_<name>, a counter by labels.
func CounterVec(sub, name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help}, labels)
}

// Counter returns consentgate_<sub>_<name>, a counter without labels.
func Counter(sub, name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help})
}

// GaugeVec returns consentgate_<sub>_<name>, a gauge by labels.
func GaugeVec(sub, name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help}, labels)
}

// Gauge returns consentgate_<sub>_<name>, a gauge without labels.
func Gauge(sub, name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help})
}

// HistogramVec returns consentgate_<sub>_<name>, a histogram with the
// given bucket bounds, by labels.
func HistogramVec(sub, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help, Buckets: buckets}, labels)
}
