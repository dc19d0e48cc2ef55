package proxy

import (
	"reflect"
	"runtime/debug"

	"github.com/consentgate/consentgate/proxy/internal/metricdef"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Version is the consentgate version; set at build time with
// -ldflags "-X github.com/consentgate/consentgate/proxy.Version=v1.2.3".
// BuildVersion falls back to the module version when it is not set.
var Version = "dev"

// BuildVersion returns Version when it was set at build time, else the
// module version go install recorded (v1.2.3, or a pseudo-version), else
// "dev" (a build from a clone).
func BuildVersion() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

// Decision label values of consentgate_requests_total.
const (
	decisionOptedOut = "opted_out"
	decisionNone     = "not_opted_out"
	// decisionConsentRequired: an opt-in region and no consent yet, so
	// everything but necessary is enforced without an opt-out.
	decisionConsentRequired = "consent_required"
	decisionBuiltin         = "builtin"
	decisionNoSite          = "no_site"
)

// Upstream error reasons (label values of consentgate_upstream_errors_total).
// upstreamReasons lists them: every site's series exist from the start.
const (
	reasonRefused   = "refused"
	reasonTimeout   = "timeout"
	reasonReset     = "reset"
	reasonBadResp   = "bad_response"
	reasonOther     = "other"
	reasonMidBody   = "mid_body"
	reasonTooLarge  = "decoded_too_large"
	reasonBadDecode = "undecodable"
)

var upstreamReasons = []string{reasonRefused, reasonTimeout, reasonReset, reasonBadResp, reasonOther, reasonMidBody, reasonTooLarge}

// Fail-closed reasons (label values of consentgate_fail_closed_total), each
// site's series created with the site.
const (
	failUndecodable    = "undecodable"     // an HTML body the proxy cannot decode
	failScriptDocument = "script_document" // SVG or XML, which can run scripts
	failOversize       = "oversize"        // an element past a bound of the rewriter (rewrite.Stats.Oversize)
)

var failClosedReasons = []string{failUndecodable, failScriptDocument, failOversize}

// parseErrorSignals are the signals that are parsed and so can fail; their
// consentgate_signals_parse_errors_total series exist from the start.
var parseErrorSignals = []string{"usp", "gpp", "tcf", "cmp"}

// Metrics holds every consentgate metric. All labels come from closed sets:
// the site's config name, a category, a catalogue vendor id, a signal source
// or a reason code — never a raw host, path, cookie or user agent.
type Metrics struct {
	Requests        *prometheus.CounterVec   // site, decision
	OptOutSources   *prometheus.CounterVec   // site, source
	ElementsRemoved *prometheus.CounterVec   // site, category, vendor, action
	CookiesDropped  *prometheus.CounterVec   // site, category, direction
	CookiesExpired  *prometheus.CounterVec   // site, category
	BytesRewritten  *prometheus.CounterVec   // site
	RewriteDuration *prometheus.HistogramVec // site
	UpstreamDur     *prometheus.HistogramVec // site
	UpstreamErrors  *prometheus.CounterVec   // site, reason
	ParseErrors     *prometheus.CounterVec   // signal
	FailClosed      *prometheus.CounterVec   // site, reason
	RuntimeBlocked  *prometheus.CounterVec   // site, category, vendor
	RuntimeReports  *prometheus.CounterVec   // site, result
	InFlight        prometheus.Gauge
	Panics          prometheus.Counter
	Reloads         *prometheus.CounterVec // result
	RulesLoaded     prometheus.Gauge       // unix seconds
	RulesInfo       *prometheus.GaugeVec   // version
}

// siteMetrics are the children of one site, resolved once per rule set so the
// request path does no label hashing.
type siteMetrics struct {
	reqOptedOut, reqNone, reqBuiltin prometheus.Counter
	reqConsentRequired               prometheus.Counter
	sources                          [len(sourceLabels)]prometheus.Counter
	upstream                         prometheus.Observer
	rewrite                          prometheus.Observer
	bytes                            prometheus.Counter
	midBody                          prometheus.Counter // upstream errors, reason mid_body
	name                             string
}

// sourceLabels are the source label values, one per signals source: sized
// from the signals package so a new source gets its own child.
var sourceLabels = [signals.NumSources]string(signals.SourceNames())

// NewMetrics registers the metrics on reg, with the Go and process
// collectors and build info.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{
		Requests:        metricdef.CounterVec("", "requests_total", "Requests by site and decision (opted_out, consent_required, not_opted_out, builtin, no_site).", "site", "decision"),
		OptOutSources:   metricdef.CounterVec("", "optout_sources_total", "Opted-out requests by the signal source that contributed (a request may count for several).", "site", "source"),
		ElementsRemoved: metricdef.CounterVec("rewrite", "elements_total", "HTML elements removed or neutralised for opted-out visitors, by vendor and category.", "site", "category", "vendor", "action"),
		CookiesDropped:  metricdef.CounterVec("", "cookies_dropped_total", "Tracking cookies dropped: direction=request from the Cookie header sent upstream, response from Set-Cookie.", "site", "category", "direction"),
		CookiesExpired:  metricdef.CounterVec("", "cookies_expired_total", "Tracking cookies the visitor still held, expired with a Set-Cookie (counted once per cookie, not per domain variant).", "site", "category"),
		BytesRewritten:  metricdef.CounterVec("rewrite", "bytes_total", "HTML bytes streamed through the rewriter (input bytes).", "site"),
		RewriteDuration: metricdef.HistogramVec("rewrite", "duration_seconds", "CPU-side time spent rewriting one response body (excludes waiting for the upstream).", []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1}, "site"),
		UpstreamDur:     metricdef.HistogramVec("upstream", "duration_seconds", "Time from sending the request upstream to receiving the response headers.", []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "site"),
		UpstreamErrors:  metricdef.CounterVec("upstream", "errors_total", "Upstream failures by reason (refused, timeout, reset, bad_response, mid_body, other).", "site", "reason"),
		ParseErrors:     metricdef.CounterVec("signals", "parse_errors_total", "Consent signals present but unparsable (each counts as an opt-out), by signal and reason.", "signal", "reason"),
		FailClosed:      metricdef.CounterVec("", "fail_closed_total", "Opted-out responses served in a conservative mode because something could not be processed, by reason.", "site", "reason"),
		RuntimeBlocked:  metricdef.CounterVec("runtime", "blocked_total", "Loads of denied vendors' URLs the runtime guard refused in opted-out visitors' browsers, as the browsers reported them (unauthenticated, bounded).", "site", "category", "vendor"),
		RuntimeReports:  metricdef.CounterVec("runtime", "reports_total", "Count reports posted to the runtime guard's endpoint, by result (ok, ignored_entries, rate_limited, too_large, malformed).", "site", "result"),
		Panics:          metricdef.Counter("", "panics_total", "Bugs caught while handling a request (answered 500) or rewriting a body (cut visibly)."),
		InFlight:        metricdef.Gauge("", "inflight_requests", "Requests being handled now."),
		Reloads:         metricdef.CounterVec("rules", "reloads_total", "Rule reloads by result (success, failure, unchanged).", "result"),
		RulesLoaded:     metricdef.Gauge("rules", "loaded_timestamp_seconds", "Unix time the rule set in use was compiled."),
		RulesInfo:       metricdef.GaugeVec("rules", "info", "The rule set in use: 1 for its version label.", "version"),
	}
	for _, c := range []prometheus.Collector{m.Requests, m.OptOutSources, m.ElementsRemoved, m.CookiesDropped,
		m.CookiesExpired, m.BytesRewritten, m.RewriteDuration, m.UpstreamDur, m.UpstreamErrors, m.ParseErrors,
		m.FailClosed, m.RuntimeBlocked, m.RuntimeReports, m.InFlight, m.Panics, m.Reloads, m.RulesLoaded, m.RulesInfo} {
		f(c)
	}
	for _, r := range []string{"success", "failure", "unchanged"} {
		m.Reloads.WithLabelValues(r)
	}
	for _, sig := range parseErrorSignals {
		for _, r := range signals.ReasonNames() {
			m.ParseErrors.WithLabelValues(sig, r)
		}
	}
	goVersion, rev := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "consentgate", Name: "build_info",
		Help:        "Build information; the value is 1.",
		ConstLabels: prometheus.Labels{"version": BuildVersion(), "goversion": goVersion, "revision": rev},
	}, func() float64 { return 1 }))
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// forSet resolves the children of every site of a rule set up front, indexed
// by Site.Index, so the request path does no label hashing.
func (m *Metrics) forSet(set *rules.Set) []*siteMetrics {
	out := make([]*siteMetrics, len(set.Sites()))
	for i, s := range set.Sites() {
		name := s.Name
		c := &siteMetrics{
			name:               name,
			reqOptedOut:        m.Requests.WithLabelValues(name, decisionOptedOut),
			reqNone:            m.Requests.WithLabelValues(name, decisionNone),
			reqBuiltin:         m.Requests.WithLabelValues(name, decisionBuiltin),
			reqConsentRequired: m.Requests.WithLabelValues(name, decisionConsentRequired),
			upstream:           m.UpstreamDur.WithLabelValues(name),
			rewrite:            m.RewriteDuration.WithLabelValues(name),
			bytes:              m.BytesRewritten.WithLabelValues(name),
			midBody:            m.UpstreamErrors.WithLabelValues(name, reasonMidBody),
		}
		for j, src := range sourceLabels {
			c.sources[j] = m.OptOutSources.WithLabelValues(name, src)
		}
		// Series that count failures exist from the start, so a rate over
		// them reads 0 rather than no data.
		for _, r := range upstreamReasons {
			m.UpstreamErrors.WithLabelValues(name, r)
		}
		for _, r := range failClosedReasons {
			m.FailClosed.WithLabelValues(name, r)
		}
		out[i] = c
	}
	m.RulesLoaded.Set(float64(set.LoadedAt().UnixNano()) / 1e9)
	m.RulesInfo.Reset()
	m.RulesInfo.WithLabelValues(set.Version()).Set(1)
	return out
}

// dropSites deletes every series of the named sites (sites a reload
// removed), so the series of a fleet's past sites do not pile up. A request
// still running on the old rule set counts into children no longer
// exported.
func (m *Metrics) dropSites(names []string) {
	if len(names) == 0 {
		return
	}
	// Every vector of m, so one added later is not forgotten; a vector
	// without a site label matches nothing.
	var vecs []interface{ DeletePartialMatch(prometheus.Labels) int }
	mv := reflect.ValueOf(m).Elem()
	for i := range mv.NumField() {
		if v, ok := mv.Field(i).Interface().(interface{ DeletePartialMatch(prometheus.Labels) int }); ok && !mv.Field(i).IsNil() {
			vecs = append(vecs, v)
		}
	}
	for _, name := range names {
		l := prometheus.Labels{"site": name}
		for _, v := range vecs {
			v.DeletePartialMatch(l)
		}
	}
}

type prometheusCollector = prometheus.Collector

// RegisterCaches registers consentgate_cache_hits_total and
// consentgate_cache_misses_total for the lookup caches: the decoded consent
// strings of the signals reader (cache="consent") and the rules' host → site
// and URL host → vendor lookups (cache="site", "host"). All count from
// process start; a reload does not reset them. Rule lookup hits include
// front-table hits, which are sampled (see rules.CacheMetrics).
func (m *Metrics) RegisterCaches(reg prometheus.Registerer, r Rules, sig *signals.Reader) {
	reg.MustRegister(&cacheCollector{rules: r, sig: sig})
}

type cacheCollector struct {
	rules Rules
	sig   *signals.Reader
}

var (
	cacheHitsDesc   = prometheus.NewDesc("consentgate_cache_hits_total", "Lookups answered by a cache (site, host: front table or shared cache; front-table hits are sampled 1 in 64).", []string{"cache"}, nil)
	cacheMissesDesc = prometheus.NewDesc("consentgate_cache_misses_total", "Lookups the cache could not answer (computed from the compiled rules or decoded).", []string{"cache"}, nil)
)

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheHitsDesc
	ch <- cacheMissesDesc
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	if c.sig != nil {
		h, m := c.sig.CacheMetrics()
		ch <- prometheus.MustNewConstMetric(cacheHitsDesc, prometheus.CounterValue, float64(h), "consent")
		ch <- prometheus.MustNewConstMetric(cacheMissesDesc, prometheus.CounterValue, float64(m), "consent")
	}
	set := c.rules.Load()
	if set == nil {
		return
	}
	sh, sm, hh, hm := set.CacheMetrics()
	ch <- prometheus.MustNewConstMetric(cacheHitsDesc, prometheus.CounterValue, float64(sh), "site")
	ch <- prometheus.MustNewConstMetric(cacheMissesDesc, prometheus.CounterValue, float64(sm), "site")
	ch <- prometheus.MustNewConstMetric(cacheHitsDesc, prometheus.CounterValue, float64(hh), "host")
	ch <- prometheus.MustNewConstMetric(cacheMissesDesc, prometheus.CounterValue, float64(hm), "host")
}
