package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/internal/coding"
	"github.com/consentgate/consentgate/proxy/internal/respcache"
	"github.com/consentgate/consentgate/proxy/registry"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/urlhost"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Rules gives the rule set in use. A reload swaps what Load returns; one
// request uses the set it loaded first from start to end.
type Rules interface {
	Load() *rules.Set
}

// StaticRules is a Rules that never changes.
type StaticRules struct{ Set *rules.Set }

// Load returns r.Set.
func (r StaticRules) Load() *rules.Set { return r.Set }

// Options configure a Server. Rules and Signals are required.
type Options struct {
	Rules   Rules
	Signals *signals.Reader
	// Metrics receives every count; nil registers nothing.
	Metrics *Metrics
	Logger  *slog.Logger
	// UpstreamTimeout bounds the wait for the upstream's response headers
	// (default 30s); past it the visitor gets a 504.
	UpstreamTimeout time.Duration
	// UpstreamIdleTimeout bounds each wait for more of a response body once
	// the headers are in (default 30s); past it the body is cut visibly. A
	// body that keeps coming is never cut, however long it takes.
	UpstreamIdleTimeout time.Duration
	// WriteIdleTimeout bounds each wait for the visitor to take the next
	// 64 KiB of a response (default 30s); past it the connection is
	// closed. A visitor that keeps reading faster than that is served to
	// the end, however long the response takes (see clientconn.go).
	WriteIdleTimeout time.Duration
	// TrustedProxies are the peers (load balancers, CDNs) whose
	// X-Forwarded-For/-Proto/-Host and Forwarded headers are kept (the
	// peer appended to X-Forwarded-For) and whose X-Forwarded-For tells the
	// visitor's address for GeoIP (see clientAddr). Every other peer's are
	// replaced. ParseTrustedProxies reads the flag's form.
	TrustedProxies []netip.Prefix
	// TrustForwarded trusts every peer as TrustedProxies would: only when
	// nothing but a trusted load balancer can reach the listener.
	TrustForwarded bool
	// MaxDecodedBody caps the size of a decompressed HTML body the rewriter
	// will read (default 64 MiB); past it the response is cut visibly.
	MaxDecodedBody int64
	// Registry is the shared opt-out registry; nil without one. Sites with
	// an account key ask it about the account of each request.
	Registry *registry.Registry
	// OnRuntimeBlocked, when set, is called with each count report the
	// runtime guard posts that holds a valid entry (see proxy/guard): the
	// site, and the vendors the guard refused with how often, after they
	// were counted in consentgate_runtime_blocked_total. blocks is valid
	// only during the call. Reports come from visitors' browsers and anyone
	// can post one: bounded, not authenticated.
	OnRuntimeBlocked func(ctx *fasthttp.RequestCtx, site *rules.Site, blocks []guard.Block)
	// ShutdownTimeout bounds Run's wait for in-flight requests once its
	// context is done (default DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// AccessLogEvery logs one request in this many at Info level (0: no
	// access log). Lines carry site, method, path without query, status,
	// decision, signal sources and time to headers; never cookie values,
	// consent strings or the client address.
	AccessLogEvery uint64
	// Receipts, when set, gets a receipt of every response enforced for a
	// visitor whose decision denies a category (observed, on a shadow
	// site); see package proxy/receipt.
	Receipts Receipts
	// CanaryToken marks the canary's own requests (CanaryHeader).
	CanaryToken string
	// ResponseCacheBytes bounds the cache of rewritten pages (0: 64 MiB;
	// negative: no cache). An opted-out page read whole is decoded,
	// rewritten and encoded once per (upstream bytes, policy, rule set,
	// site, codings the visitor takes); later visitors under the same
	// policy get the stored bytes. See ResponseCache.
	ResponseCacheBytes int64
}

// Server is the public proxy: it reads each visitor's signals, enforces the
// site's policy and forwards to the site's upstream.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	state   atomic.Pointer[state]
	mu      sync.Mutex // guards building state, clients and retired
	clients map[string]*fasthttp.HostClient
	srv     *fasthttp.Server
	seq     atomic.Uint64 // requests seen, for access-log sampling
	// decoders decode upstream bodies, at most MaxDecodedBody bytes each.
	decoders *coding.Decoders
	logLim   logLimiter // error lines per kind
	// cache holds rewritten pages; nil without one.
	cache   *respcache.Cache
	reports guard.Limiter // on the guard's count reports, all sites together

	// dateless is an empty response header that, copied over an upstream
	// response before it is read, keeps the origin's Date field (see
	// reuseTransport). Taken once from a request, fasthttp's only source.
	dateless     fasthttp.ResponseHeader
	datelessOnce sync.Once

	retired []*fasthttp.HostClient // clients no set uses, connections still open
	// unsubscribe ends the rule holder's swap notifications (Shutdown).
	unsubscribe func()

	lnMu      sync.Mutex // guards closing and listeners
	closing   bool       // Shutdown has begun: Serve refuses
	listeners []*trackedListener
	conns     connSet // open client connections, closed when Shutdown times out
}

// New returns a Server. It does not listen; see Serve and Run.
func New(opts Options) (*Server, error) {
	if opts.Rules == nil || opts.Rules.Load() == nil {
		return nil, errors.New("proxy: no rule set loaded")
	}
	if opts.Signals == nil {
		return nil, errors.New("proxy: no signals reader")
	}
	if opts.UpstreamTimeout <= 0 {
		opts.UpstreamTimeout = rules.DefaultUpstreamTimout
	}
	if opts.UpstreamIdleTimeout <= 0 {
		opts.UpstreamIdleTimeout = rules.DefaultUpstreamTimout
	}
	if opts.WriteIdleTimeout <= 0 {
		opts.WriteIdleTimeout = defaultWriteIdle
	}
	if opts.MaxDecodedBody <= 0 {
		opts.MaxDecodedBody = 64 << 20
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: opts.Metrics, clients: make(map[string]*fasthttp.HostClient),
		decoders: coding.NewDecoders(opts.MaxDecodedBody)}
	s.reports.Rate, s.reports.Burst = reportRate, 2*reportRate
	if opts.ResponseCacheBytes >= 0 {
		c, err := respcache.New(respcache.Options{MaxBytes: opts.ResponseCacheBytes})
		if err != nil {
			return nil, fmt.Errorf("proxy: response cache: %w", err)
		}
		s.cache = c
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nopRegisterer{})
	}
	if n, ok := opts.Rules.(swapNotifier); ok {
		// Build each set's state when it is swapped in, not on the
		// first request after: an idle replica reports the new set.
		s.unsubscribe = n.OnSwap(func(*rules.Set) { s.current() })
	}
	s.current()
	s.srv = &fasthttp.Server{
		Handler: s.Handle,
		// No Name: fasthttp would put "Server: consentgate" on every
		// response whose origin sent no Server field.
		ReadTimeout: 30 * time.Second,
		// No WriteTimeout: it bounds a whole response, and would cut a big
		// page to a slow visitor. Each write is timed by its progress
		// instead (WriteIdleTimeout, clientconn.go).
		IdleTimeout:    90 * time.Second,
		ReadBufferSize: 32 << 10, // marketing sites carry big cookies (a 4 KiB buffer caps the header block)
		// Idle keep-alive connections give their buffers back: with 32 KiB
		// read buffers, 10 000 idle visitors held 224 MiB, now 116 MiB.
		ReduceMemoryUsage:     true,
		MaxRequestBodySize:    32 << 20,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		NoDefaultDate:         true,
		CloseOnShutdown:       true,
		ErrorHandler:          s.requestError,
		SecureErrorLogMessage: true, // no request bytes in fasthttp's errors (see logging.go)
		Logger:                fasthttpLogger{s.log, &s.logLim},
	}
	s.srv.ConnState = s.conns.track
	return s, nil
}

func isConnReuseErr(err error) bool {
	return errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, net.ErrClosed) || isReset(err)
}

// requestError answers requests fasthttp could not parse.
func (s *Server) requestError(ctx *fasthttp.RequestCtx, err error) {
	var sizeErr *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, errBareLFBlock):
		plainError(ctx, fasthttp.StatusBadRequest, "the request is framed ambiguously: a line ending in LF alone")
	case errors.As(err, &sizeErr) || strings.Contains(err.Error(), "small read buffer"):
		plainError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "request header fields too large")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		plainError(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large")
	default:
		var to interface{ Timeout() bool }
		if errors.As(err, &to) && to.Timeout() {
			plainError(ctx, fasthttp.StatusRequestTimeout, "request timeout")
			return
		}
		plainError(ctx, fasthttp.StatusBadRequest, "bad request")
	}
	ctx.SetConnectionClose()
}

func plainError(ctx *fasthttp.RequestCtx, code int, msg string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(code)
	ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBodyString(fmt.Sprintf("%d %s\n%s\n", code, fasthttp.StatusMessage(code), msg))
}

// Handle serves one request. It is the fasthttp handler of the public
// listener, exported for tests and embedding.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	s.metrics.InFlight.Inc()
	defer s.metrics.InFlight.Dec()
	defer s.recoverPanic(ctx)
	st := s.current()
	host, ok := requestHost(ctx)
	if !ok {
		plainError(ctx, fasthttp.StatusBadRequest, "the request target names another host than the Host header")
		ctx.SetConnectionClose()
		return
	}
	if why := framingProblem(&ctx.Request.Header); why != "" {
		plainError(ctx, fasthttp.StatusBadRequest, "the request is framed ambiguously: "+why)
		ctx.SetConnectionClose()
		return
	}
	if !saneHost(host) {
		// No site has such a name, and work per request (cookie domains,
		// lookups) must not grow with whatever a client sends.
		plainError(ctx, fasthttp.StatusBadRequest, "the Host header is not a valid host name")
		ctx.SetConnectionClose()
		return
	}
	site := st.set.Site(host)
	if site == nil {
		s.metrics.Requests.WithLabelValues(noSiteLabel, decisionNoSite).Inc()
		plainError(ctx, fasthttp.StatusMisdirectedRequest, "no site is configured for this host")
		return
	}
	sm := st.sites[site.Index()]
	d := s.decide(ctx, st, site)
	if s.builtin(ctx, st, &d, host) {
		sm.reqBuiltin.Inc()
		return
	}
	sm.count(&d)
	s.forward(ctx, st, sm, host, &d)
	if n := s.opts.AccessLogEvery; n > 0 && s.seq.Add(1)%n == 0 {
		s.accessLog(ctx, &d)
	}
}

func (s *Server) accessLog(ctx *fasthttp.RequestCtx, d *decision) {
	c := &d.consent
	s.log.Info("request",
		"site", d.site.Name,
		"method", string(ctx.Method()),
		"path", string(ctx.Path()),
		"status", ctx.Response.StatusCode(),
		"opted_out", c.OptedOut,
		"sources", c.Sources.Names(),
		"denied", c.Denied.String(),
		"ms", float64(time.Since(ctx.Time()).Microseconds())/1000,
	)
}

// noSiteLabel is the site label of requests for a host no site answers
// for (an empty label value would read as no label in PromQL).
const noSiteLabel = "_none"

// recoverPanic turns a bug into a 500 for this request instead of a crash
// of the process and every connection on it; counted and logged.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	if p := recover(); p != nil {
		s.metrics.Panics.Inc()
		limitedLog(s.log, &s.logLim, slog.LevelError, "panic while handling a request", "panic/handle", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		plainError(ctx, fasthttp.StatusInternalServerError, "internal error")
		ctx.SetConnectionClose()
	}
}

// requestHost returns the Host the origin will see. A request in absolute
// form whose authority differs from the Host header is refused: rules,
// metrics and the upstream must all see one host.
func requestHost(ctx *fasthttp.RequestCtx) ([]byte, bool) {
	host := ctx.Request.Header.Host()
	uri := ctx.Request.Header.RequestURI()
	if len(uri) > 0 && uri[0] != '/' && uri[0] != '*' {
		h := urlhost.Find(uri)
		if h == nil || !bytes.EqualFold(stripPort(h), stripPort(host)) {
			return nil, false
		}
	}
	return host, len(host) > 0 || len(uri) > 0
}

// Bounds on a Host header, from DNS (RFC 1035 §2.3.4): a name of at most
// 253 bytes (one more for a final dot), labels of at most 63; and at most
// 32 labels, where DNS allows 127 but no web site's name comes near.
const (
	maxHostLen   = 253
	maxLabelLen  = 63
	maxHostLabel = 32
)

// saneHost reports whether host (with an optional port) is within the
// bounds of a DNS name. An IP literal passes: it is short anyway.
func saneHost(host []byte) bool {
	h := stripPort(host)
	h = bytes.TrimSuffix(h, []byte{'.'})
	if len(h) > maxHostLen || len(host)-len(h) > 7 { // ":65535" and a final dot
		return false
	}
	label, labels := 0, 1
	for _, c := range h {
		if c == '.' {
			if label, labels = 0, labels+1; labels > maxHostLabel {
				return false
			}
			continue
		}
		if label++; label > maxLabelLen {
			return false
		}
	}
	return true
}

func stripPort(h []byte) []byte {
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && bytes.IndexByte(h, ']') < i {
		return h[:i]
	}
	return h
}

type nopRegisterer struct{}

func (nopRegisterer) Register(c prometheusCollector) error   { return nil }
func (nopRegisterer) MustRegister(cs ...prometheusCollector) {}
func (nopRegisterer) Unregister(c prometheusCollector) bool  { return true }

// ResponseCache is the cache of rewritten pages as a Prometheus collector
// (consentgate_response_cache_*: hits, misses, evictions, refusals, bytes
// and the bound); nil when the server has none.
func (s *Server) ResponseCache() prometheus.Collector {
	if s.cache == nil {
		return nil
	}
	return s.cache
}
