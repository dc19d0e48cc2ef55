package canary

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/proxy/proxytest"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/rules/reload"
	"github.com/consentgate/consentgate/rules/rulestest"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	opts := append(proxytest.IgnoreFastHTTP(), proxytest.IgnoreRistretto()...)
	opts = append(opts, goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait")) // idle keep-alive readers of net/http, closed with the transport
	goleak.VerifyTestMain(m, opts...)
}

const canarySite = `upstream: http://127.0.0.1:1
sites:
  - name: www
    hosts: [www.example.test]
    canary:
      paths: [/]
      allow_vendors: [vimeo]
`

func TestScanHTML(t *testing.T) {
	set := rulestest.Compile(t, canarySite)
	can := set.Sites()[0].Canary
	f := func(page, want string) {
		t.Helper()
		var got []string
		for _, l := range ScanHTML(set, can, nil, []byte(page)) {
			got = append(got, l.Vendor+" "+l.Element+" "+l.Name)
		}
		sort.Strings(got)
		if strings.Join(got, "; ") != want {
			t.Errorf("%s\n got %q\nwant %q", page, strings.Join(got, "; "), want)
		}
	}
	f(`<script src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script>`, "google-tag-manager script src")
	f(`<SCRIPT SRC="//www.google-analytics.com/analytics.js"></SCRIPT>`, "google-analytics script src")
	f(`<img srcset="/a.png 1x, https://www.facebook.com/tr?id=1 2x">`, "meta-pixel img srcset")
	f(`<link rel="preconnect" href="https://www.googletagmanager.com"><link rel="canonical" href="https://www.googletagmanager.com/">`, "google-tag-manager link href")
	f(`<img data-src="https://px.ads.linkedin.com/collect">`, "linkedin-insight img data-src")
	f(`<img data-consent-category="advertising" data-src="https://px.ads.linkedin.com/collect">`, "") // neutralised by consentgate
	f(`<script type="text/plain" data-consent-category="analytics" data-src="https://static.hotjar.com/c/hotjar-1.js"></script>`, "")
	f(`<div style="background:url('https://www.facebook.com/tr?id=1')">`, "meta-pixel div style")
	f(`<style>@import "https://static.hotjar.com/x.css"; .a{background:URL(//px.ads.linkedin.com/p)}</style>`, "hotjar style css; linkedin-insight style css")
	f(`<noscript><img src="https://www.facebook.com/tr?id=1&amp;ev=PageView"></noscript>`, "meta-pixel img src")
	f(`<iframe srcdoc="&lt;script src=&quot;https://static.hotjar.com/c/hotjar.js&quot;&gt;&lt;/script&gt;"></iframe>`, "hotjar iframe srcdoc")
	f(`<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime()});})(window,document,'script','dataLayer','GTM-X');</script>`, "google-tag-manager script inline")
	f(`<script type="application/ld+json">{"url":"https://www.googletagmanager.com/gtm.js"}</script>`, "")
	f(`<iframe src="https://player.vimeo.com/video/1"></iframe>`, "")                    // allowed by the canary
	f(`<iframe src="https://www.youtube.com/embed/abc"></iframe>`, "youtube iframe src") // advertising in the catalogue
	f(`<a href="https://www.facebook.com/acme">Facebook</a>`, "")                        // a link loads nothing
	f(`<a ping="https://www.google-analytics.com/collect" href="/">x</a>`, "google-analytics a ping")
	f(`<p>No trackers, only <b>text</b> about www.googletagmanager.com.</p>`, "")
}

func TestCookieLeaks(t *testing.T) {
	set := rulestest.Compile(t, canarySite)
	can := set.Sites()[0].Canary
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Add("Set-Cookie", "_ga=GA1.1.1; Path=/; Max-Age=63072000")
	h.Add("Set-Cookie", "_fbp=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
	h.Add("Set-Cookie", "_gcl_au=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
	h.Add("Set-Cookie", "_hjid=x; Path=/; Expires=Thu, 01 Jan 2099 00:00:00 GMT")
	h.Add("Set-Cookie", "session=abc; HttpOnly")
	var got []string
	for _, l := range CookieLeaks(set, can, h, now) {
		got = append(got, l.Vendor+":"+l.Name)
	}
	if strings.Join(got, " ") != "google-analytics:_ga hotjar:_hjid" {
		t.Errorf("cookie leaks %v, want _ga and _hjid (the others are expiries or first-party)", got)
	}
}

// gateway is consentgate in front of the demo site, with a rule set that a
// test can replace as a reload would.
type gateway struct {
	addr    string
	holder  *reload.Holder
	srv     *proxy.Server
	receipt *receipt.Log
	dir     string
}

func startGateway(t *testing.T, token string) *gateway {
	t.Helper()
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &fasthttp.Server{Handler: demo.Handler}
	go up.Serve(upLn) //nolint:errcheck
	t.Cleanup(func() { up.Shutdown() })
	g := &gateway{holder: reload.NewHolder(nil), dir: t.TempDir()}
	g.holder.Grace = -1
	t.Cleanup(g.holder.Close)
	g.load(t, "sites:\n  - name: www\n    hosts: [www.example.test]\n    upstream: http://"+upLn.Addr().String()+"\n    canary: {paths: [/, /pricing]}\n")
	g.receipt, err = receipt.Open(receipt.Options{Dir: g.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.receipt.Close() })
	r := signals.NewReader()
	t.Cleanup(r.Close)
	g.srv, err = proxy.New(proxy.Options{Rules: g.holder, Signals: r, Receipts: g.receipt, CanaryToken: token})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { g.srv.Shutdown(context.Background()) })
	g.addr = ln.Addr().String()
	return g
}

func (g *gateway) load(t *testing.T, yaml string) {
	t.Helper()
	if _, err := g.holder.ReloadData([]byte(yaml), "test.yaml"); err != nil {
		t.Fatal(err)
	}
}

// TestCanaryRedWhenLeakingRulesLoaded runs the canary against the real
// proxy in front of the demo site: green with the default policy, red when
// a rule set that lets Google Analytics through is loaded (a site
// allow-list entry "for a test" that stayed), green again after the fix.
func TestCanaryRedWhenLeakingRulesLoaded(t *testing.T) {
	token := NewToken()
	g := startGateway(t, token)
	reg := prometheus.NewRegistry()
	var logs proxytest.Buffer
	c, err := New(Options{Rules: g.holder, Addr: g.addr, Token: token, Receipts: g.receipt, Registerer: reg,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.client.CloseIdleConnections()
	upstream := g.holder.Load().Sites()[0].Upstream.String()
	check := func(want string) {
		t.Helper()
		set := g.holder.Load()
		res := c.Check(t.Context(), set, set.Sites()[0])
		for _, r := range res {
			if r.Result != want {
				t.Errorf("%s: %s (err %v, leaks %v), want %s", r.Path, r.Result, r.Err, r.Leaks, want)
			}
		}
	}
	gauge := func() float64 { return testutil.ToFloat64(c.m.leaking.WithLabelValues("www")) }

	check(ResultPass)
	if gauge() != 0 {
		t.Errorf("leaking = %v after a clean run", gauge())
	}

	g.load(t, "sites:\n  - name: www\n    hosts: [www.example.test]\n    upstream: "+upstream+"\n    allow_vendors: [google-analytics]\n    canary: {paths: [/, /pricing]}\n")
	check(ResultLeak)
	if gauge() != 1 || testutil.ToFloat64(c.m.failures.WithLabelValues("www", "element")) != 2 ||
		testutil.ToFloat64(c.m.failures.WithLabelValues("www", "cookie")) != 2 {
		t.Errorf("after a leaking rule set: leaking %v, failures element %v cookie %v; want 1, 2, 2 (two pages)", gauge(),
			testutil.ToFloat64(c.m.failures.WithLabelValues("www", "element")), testutil.ToFloat64(c.m.failures.WithLabelValues("www", "cookie")))
	}
	if l := logs.String(); !strings.Contains(l, `"canary: a denied vendor reached an opted-out visitor"`) ||
		!strings.Contains(l, "google-analytics (analytics) <script inline>") || !strings.Contains(l, "google-analytics (analytics) cookie _ga") {
		t.Errorf("the leak is not logged with vendor and element:\n%s", l)
	}

	// The fix: the allow-list entry goes; so does a narrowed deny.
	g.load(t, "sites:\n  - name: www\n    hosts: [www.example.test]\n    upstream: "+upstream+"\n    deny: [advertising]\n    canary: {paths: [/, /pricing]}\n")
	check(ResultLeak) // analytics no longer denied by the site: still a leak to the canary
	g.load(t, "sites:\n  - name: www\n    hosts: [www.example.test]\n    upstream: "+upstream+"\n    canary: {paths: [/, /pricing]}\n")
	check(ResultPass)
	if gauge() != 0 || !strings.Contains(logs.String(), "canary: every page passes again") {
		t.Errorf("after the fix: leaking %v, want 0 and a log line", gauge())
	}
	if got := testutil.ToFloat64(c.m.checks.WithLabelValues("www", ResultLeak)); got != 4 {
		t.Errorf("checks{result=leak} = %v, want 4 (two pages, two leaking rule sets)", got)
	}
	for _, secret := range []string{"GA1.1", "s3ss10n", token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log carries %q", secret)
		}
	}

	g.receipt.Close()
	files, _ := receipt.Files(g.dir)
	var canaries, marked []string
	receipt.ReadRecords(files, func(l receipt.Line, r *receipt.Record, err error) error {
		if err != nil {
			return err
		}
		switch {
		case r.Kind == "canary":
			canaries = append(canaries, r.Path+" "+r.Result+fmt.Sprint(len(r.Leaks) > 0))
		case r.Kind == "response" && r.Canary:
			marked = append(marked, r.Site)
		}
		return nil
	})
	want := "[/ passfalse /pricing passfalse / leaktrue /pricing leaktrue / leaktrue /pricing leaktrue / passfalse /pricing passfalse]"
	if fmt.Sprint(canaries) != want {
		t.Errorf("canary receipts %v\nwant %s", canaries, want)
	}
	if len(marked) != 8 {
		t.Errorf("%d responses marked canary, want 8: the canary's requests must carry its token", len(marked))
	}
}

func TestRunChecksAtOnceAndStops(t *testing.T) {
	g := startGateway(t, "")
	reg := prometheus.NewRegistry()
	c, err := New(Options{Rules: g.holder, Addr: g.addr, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(c.m.checks.WithLabelValues("www", ResultPass)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not check the pages within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
