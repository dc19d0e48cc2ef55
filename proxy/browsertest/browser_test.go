package browsertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/browsertest/internal/chrome"
	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/proxy/proxytest"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: a browser,
// a sink connection, a server or a signals reader never stopped. The rules
// package's shared lookup caches are closed first, so their workers are no
// excuse. fasthttp's own background
// goroutines (the upstream client's idle-connection and address cleaners,
// the date updater, a stopped worker pool's last sleep) end on their own
// schedule or live for the process, so they are not leaks.
func TestMain(m *testing.M) {
	code := m.Run()
	rules.CloseCaches() // the rules package's process-wide lookup caches
	if code == 0 {
		if err := goleak.Find(proxytest.IgnoreFastHTTP()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

const (
	// testTimeout bounds one test: browser start, every page, browser exit.
	testTimeout = 30 * time.Second
	// pageTimeout bounds one navigation up to the load event.
	pageTimeout = 10 * time.Second
	// quiet is how long no new request must arrive after the load event
	// before a page counts as done (async scripts, iframes, timers);
	// settleMax bounds that wait.
	quiet     = 400 * time.Millisecond
	settleMax = 4 * time.Second
)

// pages are the demo site's HTML pages, in a fixed order.
var pages = func() []string {
	p := make([]string, 0, len(demo.Pages))
	for k := range demo.Pages {
		p = append(p, k)
	}
	sort.Strings(p)
	return p
}()

// site is the demo site with consentgate in front of it, both on loopback.
type site struct {
	url    string   // consentgate, "http://127.0.0.1:port"
	denied []string // host suffixes of every vendor the default policy denies
}

func startSite(t *testing.T) *site {
	t.Helper()
	return startSiteWith(t, demo.Handler)
}

// startSiteWith is startSite with h as the upstream site.
func startSiteWith(t *testing.T, h fasthttp.RequestHandler) *site {
	t.Helper()
	up := serve(t, h)
	set, err := rules.Compile(config.Default("http://" + up))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startProxy(t, set)
	if len(s.denied) == 0 {
		t.Fatal("the catalogue has no denied vendor host: nothing to test")
	}
	return s
}

// startProxy runs consentgate with set on 127.0.0.1 until the test ends
// (closing set then) and returns the site, whose denied hosts are those of
// set's vendors the default policy denies, and the proxy's metrics.
func startProxy(t *testing.T, set *rules.Set) (*site, *proxy.Metrics) {
	t.Helper()
	sig := signals.NewReader()
	m := proxy.NewMetrics(prometheus.NewRegistry())
	srv, err := proxy.New(proxy.Options{Rules: proxy.StaticRules{Set: set}, Signals: sig, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
		sig.Close()
		set.Close()
	})
	s := &site{url: "http://" + ln.Addr().String()}
	for _, v := range set.Vendors() {
		if rules.DefaultDeny.Has(v.Category) {
			s.denied = append(s.denied, v.Hosts...)
		}
	}
	return s, m
}

// serve runs h on a fasthttp server on 127.0.0.1 and returns its address.
func serve(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }() //nolint:errcheck
	t.Cleanup(func() {
		srv.Shutdown() //nolint:errcheck
		// Shutdown returns at once when Serve has not taken the listener
		// yet; closing it ends that Serve too.
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// deniedHost returns the denied suffix that the URL's host falls under, or "".
func (s *site) deniedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") {
		return ""
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, h := range s.denied {
		if host == h || strings.HasSuffix(host, "."+h) {
			return h
		}
	}
	return ""
}

// trackerRequests returns the URLs that go to a denied vendor.
func (s *site) trackerRequests(urls []string) []string {
	var out []string
	for _, u := range urls {
		if s.deniedHost(u) != "" {
			out = append(out, u)
		}
	}
	return out
}

// chromium finds the browser, or ends the test: a skip on a developer's
// machine, a failure in CI.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	// Found on PATH, as the other tools are: a PATH without it is a
	// machine without it.
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed: apt-get install chromium (.ci/run does)")
	}
	t.Skip("chromium not installed: apt-get install chromium (.ci/run does)")
	return ""
}

// browser is one headless Chromium with a fresh profile.
type browser struct {
	ctx    context.Context // the first tab; cancel it to close the browser
	sink   *chrome.Sink    // where every connection to a non-loopback host lands
	closed bool
}

// launch starts Chromium, which lives at most testTimeout; it is closed at
// cleanup if the test did not close it first.
func launch(t *testing.T) *browser {
	t.Helper()
	return launchFor(t, testTimeout)
}

// launchFor is launch with a browser that lives at most d.
func launchFor(t *testing.T, d time.Duration) *browser {
	t.Helper()
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel) // after the browser's cleanup below: it closes gracefully
	dir := t.TempDir()
	b := &browser{sink: startSink(t)}
	var out proxytest.Buffer
	actx, acancel := chromedp.NewExecAllocator(ctx, append(chrome.Flags(exe, dir, &out),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		// Every host but loopback is the sink: no connection ever reaches a
		// real tracker, none waits on DNS, and a connection that no request
		// event shows (a preconnect) is still seen.
		chromedp.Flag("host-resolver-rules", "MAP * "+b.sink.Addr+", EXCLUDE 127.0.0.1"),
	)...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Run(bctx); err != nil {
		bcancel()
		acancel()
		t.Fatalf("starting %s: %v\n%s", exe, err, out.String())
	}
	b.ctx = bctx
	t.Cleanup(func() {
		b.close(t)
		bcancel()
		acancel()
	})
	return b
}

// close shuts the browser down gracefully.
func (b *browser) close(t *testing.T) {
	t.Helper()
	if b.closed {
		return
	}
	b.closed = true
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("closing the browser: %v", err)
	}
}

// startSink starts a sink that records every connection, an unnamed one
// too, and closes it at cleanup.
func startSink(t *testing.T) *chrome.Sink {
	t.Helper()
	s, err := chrome.StartSink(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// connectedHosts returns the hosts the browser opened a connection to, each
// once: those of a denied vendor, and the others (Chromium's own services).
func (b *browser) connectedHosts(s *site) (denied, other []string) {
	for _, h := range b.sink.Hosts() {
		list := &other
		if s.deniedHost("https://"+h+"/") != "" {
			list = &denied
		}
		if !slices.Contains(*list, h) {
			*list = append(*list, h)
		}
	}
	slices.Sort(denied)
	slices.Sort(other)
	return denied, other
}

// recorder collects what one tab does.
type recorder struct {
	mu         sync.Mutex
	urls       []string
	exceptions []string
	last       time.Time
}

func (r *recorder) on(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.urls = append(r.urls, ev.Request.URL)
		r.last = time.Now()
	case *network.EventWebSocketCreated:
		r.urls = append(r.urls, ev.URL)
		r.last = time.Now()
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		r.exceptions = append(r.exceptions, fmt.Sprintf("%s:%d:%d: %s", d.URL, d.LineNumber+1, d.ColumnNumber+1, msg))
	}
}

// take returns and clears what was recorded.
func (r *recorder) take() (urls, exceptions []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	urls, exceptions = r.urls, r.exceptions
	r.urls, r.exceptions = nil, nil
	return urls, exceptions
}

// settle waits until no request has started for the quiet period, or
// settleMax has passed. The quiet period counts from the later of the last
// request and the call: after a click or a script the browser has not yet
// reported what they load, and the last request recorded is older than
// the action, so measuring from it alone would return at once.
func (r *recorder) settle(ctx context.Context) {
	start := time.Now()
	deadline := start.Add(settleMax)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		r.mu.Lock()
		idle := time.Since(r.last)
		r.mu.Unlock()
		if idle >= quiet && time.Since(start) >= quiet {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// waitFor waits until a request whose URL satisfies ok has been recorded
// (and not yet taken), or settleMax has passed; it reports whether one was.
// A test expecting a load waits for it so, rather than for a quiet period
// that a slow browser may outlast.
func (r *recorder) waitFor(ctx context.Context, ok func(url string) bool) bool {
	deadline := time.Now().Add(settleMax)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		found := slices.ContainsFunc(r.urls, ok)
		r.mu.Unlock()
		if found {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// tab returns the browser's tab, set up to send headers on every request and
// to record its requests. Each test has a browser of its own, so cookies and
// cache start empty.
func (b *browser) tab(t *testing.T, headers network.Headers) (context.Context, *recorder) {
	t.Helper()
	ctx := b.ctx
	r := &recorder{}
	chromedp.ListenTarget(ctx, r.on)
	acts := []chromedp.Action{network.Enable(), runtime.Enable(), network.SetCacheDisabled(true)}
	if len(headers) > 0 {
		acts = append(acts, network.SetExtraHTTPHeaders(headers))
	}
	if err := chromedp.Run(ctx, acts...); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx, r
}

// visit loads a page, waits for its load event and for the network to go
// quiet, and returns the requests it made and the exceptions it threw.
func visit(t *testing.T, ctx context.Context, r *recorder, u string) (urls, exceptions []string) {
	t.Helper()
	r.take()
	nctx, cancel := context.WithTimeout(ctx, pageTimeout)
	defer cancel()
	if err := chromedp.Run(nctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("loading %s: %v", u, err)
	}
	r.settle(ctx)
	return r.take()
}

// hostCounts summarises tracker requests as "host×n" for a message.
func (s *site) hostCounts(urls []string) (hosts int, summary string) {
	n := map[string]int{}
	for _, u := range urls {
		if h := s.deniedHost(u); h != "" {
			n[h]++
		}
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, n[k])
	}
	return len(keys), strings.Join(parts, ", ")
}

// checkRendered asserts that the page is the demo page, not an error page,
// and that the first-party script ran where the page has its widget.
func checkRendered(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	var title, app string
	var link bool
	rctx, cancel := context.WithTimeout(ctx, pageTimeout)
	defer cancel()
	err := chromedp.Run(rctx,
		chromedp.Title(&title),
		chromedp.Evaluate(`document.getElementById("do-not-sell") !== null`, &link),
		chromedp.Evaluate(`document.documentElement.dataset.app || ""`, &app),
	)
	if err != nil {
		t.Fatalf("%s: reading the page: %v", path, err)
	}
	if !strings.Contains(title, "Northwind") || !link {
		t.Errorf("%s: the page did not render: title %q, footer opt-out link present: %v", path, title, link)
	}
	if path == "/product" && app != "ready" {
		t.Errorf(`%s: first-party script did not run: <html data-app=%q>, want "ready"`, path, app)
	}
}

func TestGPCVisitorMakesNoTrackerRequests(t *testing.T) {
	s := startSite(t)
	b := launch(t)
	tab, r := b.tab(t, network.Headers{"Sec-GPC": "1"})
	var total int
	for _, path := range pages {
		urls, exceptions := visit(t, tab, r, s.url+path)
		total += len(urls)
		if leaks := s.trackerRequests(urls); len(leaks) > 0 {
			t.Errorf("%s with Sec-GPC: 1: %d requests to denied vendors:\n  %s", path, len(leaks), strings.Join(leaks, "\n  "))
		}
		if len(urls) == 0 || !strings.HasPrefix(urls[0], s.url) {
			t.Errorf("%s: no request recorded for the page itself: %q", path, urls)
		}
		checkRendered(t, tab, path)
		if len(exceptions) > 0 {
			t.Errorf("%s with Sec-GPC: 1: the page threw %d JavaScript exceptions:\n  %s", path, len(exceptions), strings.Join(exceptions, "\n  "))
		}
		t.Logf("%s with Sec-GPC: 1: %d requests, 0 to denied vendors", path, len(urls))
	}
	b.close(t)
	hosts, other := b.connectedHosts(s)
	if len(hosts) > 0 {
		t.Errorf("with Sec-GPC: 1 the browser connected to denied vendors (a preconnect?): %s", strings.Join(hosts, ", "))
	}
	t.Logf("with Sec-GPC: 1: %d requests on %d pages, 0 to denied vendors; connections to %d denied hosts, to other hosts: %q", total, len(pages), len(hosts), other)
}

func TestVisitorWithoutSignalRequestsTrackers(t *testing.T) {
	s := startSite(t)
	b := launch(t)
	tab, r := b.tab(t, nil)
	var all []string
	for _, path := range pages {
		urls, exceptions := visit(t, tab, r, s.url+path)
		if len(exceptions) > 0 {
			t.Logf("%s without a signal threw (not asserted):\n  %s", path, strings.Join(exceptions, "\n  "))
		}
		leaks := s.trackerRequests(urls)
		all = append(all, leaks...)
		if len(leaks) == 0 {
			t.Errorf("%s without a signal: no request to a denied vendor; the leak check would pass vacuously", path)
		}
		hosts, summary := s.hostCounts(leaks)
		t.Logf("%s without a signal: %d requests to %d denied hosts: %s", path, len(leaks), hosts, summary)
	}
	b.close(t)
	hosts, _ := b.connectedHosts(s)
	if len(hosts) == 0 {
		t.Error("without a signal the browser connected to no denied vendor; the connection check would pass vacuously")
	}
	n, summary := s.hostCounts(all)
	t.Logf("without a signal: %d requests to %d denied hosts (%s); connections to %d denied hosts: %s", len(all), n, summary, len(hosts), strings.Join(hosts, ", "))
}

func TestDoNotSellLinkOptsOut(t *testing.T) {
	s := startSite(t)
	b := launch(t)
	tab, r := b.tab(t, nil)

	urls, _ := visit(t, tab, r, s.url+"/product")
	if len(s.trackerRequests(urls)) == 0 {
		t.Fatal("/product before the opt-out: no tracker request; the check after it would pass vacuously")
	}

	// Click the link; the proxy answers with the cookie and a page that
	// confirms the opt-out; its Continue link leads back to /product.
	r.take()
	cctx, ccancel := context.WithTimeout(tab, 2*pageTimeout)
	defer ccancel()
	clickAndWait(t, cctx, "#do-not-sell")
	var where, title, text string
	if err := chromedp.Run(cctx, chromedp.Location(&where), chromedp.Title(&title), chromedp.Text("main", &text, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if where != s.url+"/.consentgate/optout?return=/product" || title != "Your opt-out is saved" ||
		!strings.Contains(text, "A cookie in this browser, consentgate_optout=1, kept for a year") {
		t.Errorf("after the opt-out link the browser shows %s, %q:\n%s", where, title, text)
	}
	saveScreenshot(t, cctx, "optout-confirmation.png", "")
	clickAndWait(t, cctx, "a.continue")
	if err := chromedp.Run(cctx, chromedp.Location(&where)); err != nil {
		t.Fatal(err)
	}
	if where != s.url+"/product" {
		t.Errorf("after the confirmation's Continue link the browser is at %s, want %s/product", where, s.url)
	}
	r.settle(tab)
	urls, exceptions := r.take()
	if leaks := s.trackerRequests(urls); len(leaks) > 0 {
		t.Errorf("the page after the opt-out link made %d requests to denied vendors:\n  %s", len(leaks), strings.Join(leaks, "\n  "))
	}
	if len(exceptions) > 0 {
		t.Errorf("the page after the opt-out link threw:\n  %s", strings.Join(exceptions, "\n  "))
	}
	t.Logf("opt-out link, landing on /product: %d requests, %d to denied vendors", len(urls), len(s.trackerRequests(urls)))

	var cookies []*network.Cookie
	err := chromedp.Run(cctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{s.url + "/"}).Do(ctx)
		return err
	}))
	if err != nil {
		t.Fatalf("reading cookies: %v", err)
	}
	if !slices.ContainsFunc(cookies, func(c *network.Cookie) bool {
		return c.Name == "consentgate_optout" && c.Value == "1"
	}) {
		names := make([]string, len(cookies))
		for i, c := range cookies {
			names[i] = c.Name + "=" + c.Value
		}
		t.Errorf("after the opt-out link the browser holds no consentgate_optout=1 cookie; it holds %q", names)
	}

	for _, path := range pages {
		urls, exceptions := visit(t, tab, r, s.url+path)
		if leaks := s.trackerRequests(urls); len(leaks) > 0 {
			t.Errorf("%s after the opt-out link: %d requests to denied vendors:\n  %s", path, len(leaks), strings.Join(leaks, "\n  "))
		}
		checkRendered(t, tab, path)
		if len(exceptions) > 0 {
			t.Errorf("%s after the opt-out link: the page threw %d JavaScript exceptions:\n  %s", path, len(exceptions), strings.Join(exceptions, "\n  "))
		}
		t.Logf("%s after the opt-out link: %d requests, %d to denied vendors", path, len(urls), len(s.trackerRequests(urls)))
	}

	// The opted-out home page, for a person to look at.
	var shot []byte
	visit(t, tab, r, s.url+"/")
	sctx, scancel := context.WithTimeout(tab, pageTimeout)
	defer scancel()
	if err := chromedp.Run(sctx, chromedp.FullScreenshot(&shot, 100)); err != nil { // 100: PNG
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("CONSENTGATE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "opted-out-home.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the opted-out home page: %s (%d bytes)", file, len(shot))
}
