package canary

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/internal/metricdef"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/prometheus/client_golang/prometheus"
)

// Results of one check of one page (label values of
// consentgate_canary_checks_total).
const (
	ResultPass  = "pass"
	ResultLeak  = "leak"
	ResultError = "error"
)

// maxBody bounds the page a canary reads.
const maxBody = 32 << 20

// Options configure a Canary. Rules and Addr are required.
type Options struct {
	Rules proxy.Rules
	// Addr is the proxy's own public listener (host:port); a wildcard host
	// is dialled on loopback.
	Addr string
	// Token marks the canary's requests (proxy.CanaryHeader); give the
	// proxy the same (proxy.Options.CanaryToken). NewToken makes one.
	Token string
	// Receipts, when set, gets a canary record per page checked.
	Receipts proxy.Receipts
	// Registerer receives the consentgate_canary_* metrics; nil registers
	// nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Timeout bounds one page fetch (default 30s).
	Timeout time.Duration
}

// Canary fetches each site's canary pages through the proxy as an
// opted-out visitor and checks that nothing of a denied vendor is left.
type Canary struct {
	opts   Options
	log    *slog.Logger
	client *http.Client
	m      metrics

	mu      sync.Mutex
	leaking map[string]bool // site → the last check found a leak
	next    map[string]time.Time
}

type metrics struct {
	checks   *prometheus.CounterVec // site, result
	failures *prometheus.CounterVec // site, reason
	leaking  *prometheus.GaugeVec   // site
	last     *prometheus.GaugeVec   // site
}

// NewToken returns a random token for Options.Token.
func NewToken() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// New returns a Canary; Run starts it.
func New(o Options) (*Canary, error) {
	if o.Rules == nil || o.Addr == "" {
		return nil, errors.New("canary: Rules and Addr are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	addr := o.Addr
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	o.Addr = addr
	c := &Canary{
		opts: o, log: o.Logger, leaking: map[string]bool{}, next: map[string]time.Time{},
		client: &http.Client{
			Timeout: o.Timeout,
			// Only ever the proxy's own listener, whatever the URL says.
			Transport: &http.Transport{
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
				MaxIdleConnsPerHost: 2,
				IdleConnTimeout:     30 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		m: metrics{
			checks:   metricdef.CounterVec("canary", "checks_total", "Canary checks of a page by result: pass, leak (a denied vendor's element or cookie reached the canary), error (the page could not be checked).", "site", "result"),
			failures: metricdef.CounterVec("canary", "failures_total", "Canary checks that found what an opted-out visitor must not get, by reason: element (in the HTML) or cookie (a tracking Set-Cookie).", "site", "reason"),
			leaking:  metricdef.GaugeVec("canary", "leaking", "1 while the site's last canary run found a leak, 0 after a run where every page passed (a run with errors and no leak leaves it).", "site"),
			last:     metricdef.GaugeVec("canary", "last_run_timestamp_seconds", "Unix time of the site's last canary run.", "site"),
		},
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(c.m.checks, c.m.failures, c.m.leaking, c.m.last)
	}
	return c, nil
}

// Run checks every site with a canary at once and then every
// canary.interval, following reloads, until ctx is done.
func (c *Canary) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.client.CloseIdleConnections()
			return nil
		case <-t.C:
		}
		now := time.Now()
		set := c.opts.Rules.Load()
		wait := time.Minute // look again for new canaries after a reload
		for _, site := range set.Sites() {
			if site.Canary == nil {
				continue
			}
			c.mu.Lock()
			due := c.next[site.Name]
			c.mu.Unlock()
			if !due.After(now) {
				c.Check(ctx, set, site)
				due = time.Now().Add(site.Canary.Interval)
				c.mu.Lock()
				c.next[site.Name] = due
				c.mu.Unlock()
			}
			wait = min(wait, time.Until(due))
		}
		t.Reset(max(wait, time.Second))
	}
}

// Result is the check of one page.
type Result struct {
	Site, Path string
	Result     string // pass, leak or error
	Status     int
	Err        error
	Leaks      []receipt.Leak
}

// Check checks every canary page of site now, records the results
// (metrics, log, receipts) and returns them.
func (c *Canary) Check(ctx context.Context, set *rules.Set, site *rules.Site) []Result {
	can := site.Canary
	var out []Result
	leak, errs := false, false
	for _, p := range can.Paths {
		r := c.page(ctx, set, site, p)
		out = append(out, r)
		c.m.checks.WithLabelValues(site.Name, r.Result).Inc()
		switch r.Result {
		case ResultLeak:
			leak = true
			reasons := map[string]bool{}
			for _, l := range r.Leaks {
				reasons[l.What] = true
			}
			for _, reason := range []string{"element", "cookie"} {
				if reasons[reason] {
					c.m.failures.WithLabelValues(site.Name, reason).Inc()
				}
			}
			c.log.Error("canary: a denied vendor reached an opted-out visitor", "site", site.Name, "path", p, "rules", set.Version(), "leaks", leakList(r.Leaks))
		case ResultError:
			errs = true
			c.log.Warn("canary: cannot check page", "site", site.Name, "path", p, "status", r.Status, "err", r.Err)
		}
		if c.opts.Receipts != nil {
			e := receipt.Acquire()
			e.Kind, e.Time, e.Site, e.Rules = receipt.KindCanary, time.Now(), site.Name, set.Version()
			e.Path, e.Result, e.Status = p, r.Result, r.Status
			if r.Err != nil {
				e.Error = r.Err.Error()
			}
			for _, l := range r.Leaks {
				e.AddLeak(l)
			}
			c.opts.Receipts.Add(e)
		}
	}
	c.m.last.WithLabelValues(site.Name).SetToCurrentTime()
	c.mu.Lock()
	was := c.leaking[site.Name]
	switch {
	case leak:
		c.leaking[site.Name] = true
		c.m.leaking.WithLabelValues(site.Name).Set(1)
	case !errs:
		c.leaking[site.Name] = false
		c.m.leaking.WithLabelValues(site.Name).Set(0)
		if was {
			c.log.Info("canary: every page passes again", "site", site.Name, "rules", set.Version())
		}
	}
	c.mu.Unlock()
	return out
}

// leakList is the log form of leaks: "vendor element attribute" or
// "vendor cookie name", sorted.
type leakList []receipt.Leak

func (l leakList) LogValue() slog.Value {
	s := make([]string, len(l))
	for i, x := range l {
		if x.What == "cookie" {
			s[i] = fmt.Sprintf("%s (%s) cookie %s", x.Vendor, x.Category, x.Name)
		} else {
			s[i] = fmt.Sprintf("%s (%s) <%s %s>", x.Vendor, x.Category, x.Element, x.Name)
		}
	}
	sort.Strings(s)
	return slog.StringValue(strings.Join(s, "; "))
}

// page fetches and checks one page.
func (c *Canary) page(ctx context.Context, set *rules.Set, site *rules.Site, path string) Result {
	r := Result{Site: site.Name, Path: path, Result: ResultError}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+site.Canary.Host+path, nil)
	if err != nil {
		r.Err = err
		return r
	}
	req.Header.Set("Sec-GPC", "1")
	req.Header.Set("User-Agent", "consentgate-canary/"+proxy.Version)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if c.opts.Token != "" {
		req.Header.Set(proxy.CanaryHeader, c.opts.Token)
	}
	// Accept-Encoding: gzip is added and decoded by the transport, so the
	// proxy's re-encoding path is what gets checked.
	resp, err := c.client.Do(req)
	if err != nil {
		r.Err = err
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		r.Err = fmt.Errorf("reading the page: %w", err)
		return r
	}
	r.Leaks = CookieLeaks(set, site.Canary, resp.Header, time.Now())
	if resp.StatusCode != http.StatusOK {
		r.Err = fmt.Errorf("status %d", resp.StatusCode)
		if len(r.Leaks) > 0 {
			r.Result = ResultLeak
		}
		return r
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" || mt == "application/xhtml+xml" || mt == "" {
		r.Leaks = append(r.Leaks, ScanHTML(set, site.Canary, stubText(set, site), body)...)
	}
	r.Result = ResultPass
	if len(r.Leaks) > 0 {
		r.Result = ResultLeak
	}
	return r
}

// stubText is the text of the stub script the proxy inserts for an opted-out
// visitor of site (rewrite.Stub without its tags).
func stubText(set *rules.Set, site *rules.Site) []byte {
	st := rewrite.Stub(rewrite.Policy{Set: set, Site: site, Deny: site.Deny, Stub: true})
	st = bytes.TrimPrefix(st, []byte("<script>"))
	return bytes.TrimSuffix(st, []byte("</script>"))
}
