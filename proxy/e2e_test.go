package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// upstream is a real fasthttp server on loopback.
type upstream struct {
	addr string
	srv  *fasthttp.Server
	mu   sync.Mutex
	last []byte // raw header of the last request it received
	n    int
}

func startUpstream(t testing.TB, h fasthttp.RequestHandler) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{addr: ln.Addr().String()}
	u.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		u.mu.Lock()
		u.last = append(u.last[:0], ctx.Request.Header.Header()...)
		u.n++
		u.mu.Unlock()
		h(ctx)
	}, NoDefaultServerHeader: true, NoDefaultDate: true, NoDefaultContentType: true}
	go u.srv.Serve(ln)                                 //nolint:errcheck
	t.Cleanup(func() { u.srv.Shutdown(); ln.Close() }) //nolint:errcheck // ln: Serve may not have taken it yet
	return u
}

func (u *upstream) lastHeader() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return string(u.last)
}

func (u *upstream) requests() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.n
}

// gate is a running consentgate in front of an upstream.
type gate struct {
	url     string
	set     *rules.Set
	reg     *prometheus.Registry
	metrics *proxy.Metrics
}

func startGate(t testing.TB, upstreamURL, configYAML string, tweak ...func(*proxy.Options)) *gate {
	t.Helper()
	cfg := config.Default(upstreamURL)
	if configYAML != "" {
		var err error
		if cfg, err = config.Parse([]byte(configYAML), "test.yaml"); err != nil {
			t.Fatal(err)
		}
		if cfg.Upstream == "" {
			cfg.Upstream = upstreamURL
		}
	}
	set, err := rules.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := proxy.NewMetrics(reg)
	sig := signals.NewReader()
	opts := proxy.Options{Rules: proxy.StaticRules{Set: set}, Signals: sig, Metrics: m}
	for _, f := range tweak {
		f(&opts)
	}
	srv, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if c := srv.ResponseCache(); c != nil {
		reg.MustRegister(c)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Shutdown(context.Background()) //nolint:errcheck
		set.Close()
		sig.Close() // ours, also when a tweak gave the server another
	})
	return &gate{url: "http://" + ln.Addr().String(), set: set, reg: reg, metrics: m}
}

var client = &http.Client{
	Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

func get(t testing.TB, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return hostGet(t, url, "", headers...)
}

// leaks lists what a page served to an opted-out visitor still carries of a
// denied vendor: any of its hosts in the HTML, any tracking Set-Cookie that
// is not an expiry. It is the heart of the privacy tests, and is itself
// tested against an unenforced proxy below, so it cannot pass vacuously.
func leaks(set *rules.Set, deny rules.Categories, resp *http.Response, body []byte) []string {
	var out []string
	lower := bytes.ToLower(body)
	for _, v := range set.Vendors() {
		if !deny.Has(v.Category) {
			continue
		}
		for _, h := range v.Hosts {
			if bytes.Contains(lower, []byte(h)) {
				out = append(out, fmt.Sprintf("HTML names %s (vendor %s)", h, v.ID))
			}
		}
	}
	for _, line := range resp.Header.Values("Set-Cookie") {
		name, rest, _ := strings.Cut(line, "=")
		v := set.CookieVendor([]byte(name))
		if v == nil || !deny.Has(v.Category) {
			continue
		}
		if !strings.HasPrefix(rest, ";") || !strings.Contains(rest, "Max-Age=0") {
			out = append(out, fmt.Sprintf("Set-Cookie %s (vendor %s) is not an expiry: %q", name, v.ID, line))
		}
	}
	return out
}

var optOutSignals = []struct {
	name   string
	header string
}{
	{"Sec-GPC", "Sec-GPC: 1"},
	{"lower-case sec-gpc", "sec-gpc: 1"},
	{"opt-out cookie", "Cookie: consentgate_optout=1"},
}

func TestOptedOutVisitorGetsNoTrackers(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "")
	for _, sig := range optOutSignals {
		for path := range demo.Pages {
			t.Run(sig.name+path, func(t *testing.T) {
				resp, body := get(t, g.url+path, sig.header)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				if l := leaks(g.set, rules.DefaultDeny, resp, body); len(l) > 0 {
					t.Errorf("opted-out visitor (%s) got trackers on %s:\n  %s", sig.header, path, strings.Join(l, "\n  "))
				}
				if !bytes.Contains(body, []byte("Do Not Sell or Share My Personal Information")) ||
					!bytes.Contains(body, []byte(`<script src="/assets/app.js" defer></script>`)) {
					t.Errorf("page content or first-party script missing on %s", path)
				}
				if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
					t.Errorf("Cache-Control = %q, want private", cc)
				}
				if v := resp.Header.Get("Vary"); !strings.Contains(v, "Sec-GPC") || !strings.Contains(v, "Cookie") {
					t.Errorf("Vary = %q, want Sec-GPC and Cookie", v)
				}
				var firstParty int
				for _, c := range resp.Header.Values("Set-Cookie") {
					if strings.HasPrefix(c, "nw_session=s3ss10n;") || strings.HasPrefix(c, "nw_cart=0;") {
						firstParty++
					}
				}
				if firstParty != 2 {
					t.Errorf("first-party cookies lost: %q", resp.Header.Values("Set-Cookie"))
				}
			})
		}
	}
}

// TestLeakCheckCatchesUnenforcedProxy is the control of the test above: the
// same pages through a proxy that enforces nothing (shadow mode) must show
// leaks, or the leak check proves nothing.
func TestLeakCheckCatchesUnenforcedProxy(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "sites:\n  - name: shadow\n    hosts: ['*']\n    shadow: true\n")
	for path := range demo.Pages {
		resp, body := get(t, g.url+path, "Sec-GPC: 1")
		if l := leaks(g.set, rules.DefaultDeny, resp, body); len(l) < 5 {
			t.Errorf("%s through an unenforced proxy: leak check found only %d leaks (%v); it cannot tell enforcement from none", path, len(l), l)
		}
	}
}

func TestPassThroughIsByteIdentical(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "")
	for _, path := range []string{"/", "/product", "/pricing", "/assets/app.js", "/assets/site.css", "/assets/logo.svg", "/nope"} {
		dresp, direct := get(t, "http://"+up.addr+path)
		presp, proxied := get(t, g.url+path)
		if !bytes.Equal(direct, proxied) {
			t.Errorf("%s: body through the proxy differs from the upstream's (%d vs %d bytes)", path, len(proxied), len(direct))
		}
		if dresp.StatusCode != presp.StatusCode {
			t.Errorf("%s: status %d, upstream %d", path, presp.StatusCode, dresp.StatusCode)
		}
		if d, p := dresp.Header.Values("Set-Cookie"), presp.Header.Values("Set-Cookie"); strings.Join(d, "\n") != strings.Join(p, "\n") {
			t.Errorf("%s: Set-Cookie changed for a visitor without a signal:\n got %q\nwant %q", path, p, d)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Etag", "Link"} {
			if d, p := dresp.Header.Get(h), presp.Header.Get(h); d != p {
				t.Errorf("%s: %s = %q, upstream sent %q", path, h, p, d)
			}
		}
	}
}

func TestRequestHeadersUpstream(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "")
	req, _ := http.NewRequest("GET", g.url+"/pricing", nil)
	req.Header.Set("Connection", "X-Secret, X-Forwarded-For")
	req.Header.Set("X-Secret", "hop")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Authorization", "Basic Zm9vOmJhcg==")
	req.Header.Set("Te", "trailers")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("X-Kept", "yes")
	req.Header.Set("Sec-GPC", "1")
	req.Header.Set("Cookie", "nw_session=abc; _ga=GA1.1.2; _fbp=fb.1; nw_cart=3; _gcl_au=1.1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	got := up.lastHeader()
	for _, bad := range []string{"X-Secret", "Keep-Alive", "Proxy-Authorization", "Te:", "Upgrade", "6.6.6.6", "_ga=", "_fbp=", "_gcl_au="} {
		if strings.Contains(got, bad) {
			t.Errorf("upstream received %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{"X-Kept: yes", "Sec-Gpc: 1", "X-Forwarded-For: 127.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: 127.0.0.1", "Cookie: nw_session=abc; nw_cart=3"} {
		if !strings.Contains(got, want) {
			t.Errorf("upstream did not receive %q:\n%s", want, got)
		}
	}
	// The tracking cookies the visitor held are expired in the response.
	var expired []string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.Contains(c, "Max-Age=0") {
			expired = append(expired, c[:strings.IndexByte(c, '=')])
		}
	}
	if strings.Join(expired, ",") != "_ga,_fbp,_gcl_au" {
		t.Errorf("expired cookies = %v, want _ga,_fbp,_gcl_au", expired)
	}
}

// TestSetCookieLinesSurvive: five Set-Cookie lines, two with one name and
// different Domain, reach the client as five lines in order, byte for byte;
// for an opted-out visitor the tracking ones go.
func TestSetCookieLinesSurvive(t *testing.T) {
	lines := []string{
		"a=1; Path=/",
		"_ga=GA1.2.3; Domain=shop.example.com; Path=/",
		"b=2; Path=/x; HttpOnly",
		"_ga=GA1.2.4; Domain=example.com; Path=/",
		"a=3; Domain=example.com; Secure",
	}
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		for _, l := range lines {
			ctx.Response.Header.Add("Set-Cookie", l)
		}
		ctx.Response.Header.SetContentType("text/plain")
		ctx.SetBodyString("ok")
	})
	g := startGate(t, "http://"+up.addr, "")
	resp, _ := get(t, g.url+"/")
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Errorf("no signal: Set-Cookie lines\n got %q\nwant %q", got, lines)
	}
	resp, _ = get(t, g.url+"/", "Sec-GPC: 1")
	want := []string{lines[0], lines[2], lines[4]}
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("opted out: Set-Cookie lines\n got %q\nwant %q", got, want)
	}
}

func TestCookieExpiryDomains(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := startGate(t, "http://"+up.addr, "")
	req, _ := http.NewRequest("GET", g.url+"/", nil)
	req.Host = "www.shop.example.co.uk"
	req.Header.Set("Sec-GPC", "1")
	req.Header.Set("Cookie", "_fbp=fb.1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []string{
		"_fbp=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
		"_fbp=; Path=/; Domain=www.shop.example.co.uk; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
		"_fbp=; Path=/; Domain=example.co.uk; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
	}
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("expiry lines\n got %q\nwant %q", got, want)
	}
}

func TestBuiltinPaths(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "")
	resp, body := get(t, g.url+"/.well-known/gpc.json")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || !bytes.HasPrefix(body, []byte(`{"gpc": true, "lastUpdate": "20`)) {
		t.Errorf("gpc.json: %s %q", ct, body)
	}
	// The opt-out answers with its confirmation page (optout_confirmation
	// defaults to on), or with the redirect when the link asks for it.
	resp, body = get(t, g.url+"/.consentgate/optout?return=/pricing")
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "consentgate_optout=1;") ||
		!bytes.Contains(body, []byte(`<a class="continue" href="/pricing">`)) {
		t.Errorf("optout: %d Location=%q Set-Cookie=%q\n%s", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"), body)
	}
	resp, _ = get(t, g.url+"/.consentgate/optout?return=/pricing&redirect=1")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/pricing" || !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "consentgate_optout=1;") {
		t.Errorf("optout&redirect=1: %d Location=%q Set-Cookie=%q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}
	for _, evil := range []string{"//evil.test/", "https://evil.test/", "/\\evil.test", "javascript:alert(1)"} {
		resp, _ = get(t, g.url+"/.consentgate/optout?redirect=1&return="+evil)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("optout?return=%s redirects to %q, want /", evil, loc)
		}
		_, body = get(t, g.url+"/.consentgate/optout?return="+evil)
		if !bytes.Contains(body, []byte(`<a class="continue" href="/">`)) {
			t.Errorf("optout?return=%s: the confirmation does not link back to /:\n%s", evil, body)
		}
	}
	req, _ := http.NewRequest("POST", g.url+"/.consentgate/optin", nil)
	req.Header.Set("Referer", g.url+"/product?x=1")
	req.Header.Set("Origin", g.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Location") != "/product?x=1" || !strings.Contains(resp.Header.Get("Set-Cookie"), "consentgate_optout=;") {
		t.Errorf("optin: Location=%q Set-Cookie=%q", resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}
	_, body = get(t, g.url+"/.consentgate/status", "Cookie: consentgate_optout=1")
	if !bytes.Contains(body, []byte(`"opted_out": true`)) || !bytes.Contains(body, []byte(`"optout_cookie"`)) {
		t.Errorf("status: %s", body)
	}
	if n := up.requests(); n != 0 {
		t.Errorf("built-in paths reached the upstream %d times", n)
	}
	// Other paths under the prefix belong to the site.
	resp, _ = get(t, g.url+"/.consentgate/other")
	if resp.StatusCode != 404 || up.requests() != 1 {
		t.Errorf("/.consentgate/other: status %d, upstream requests %d", resp.StatusCode, up.requests())
	}
}

func TestCustomPrefixAndCookie(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "sites:\n  - name: www\n    hosts: ['*']\n    prefix: /privacy-choices/\n    optout_cookie: {name: dns, value: 'yes'}\n")
	resp, _ := get(t, g.url+"/privacy-choices/optout")
	if !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "dns=yes;") {
		t.Errorf("custom optout: Set-Cookie=%q", resp.Header.Get("Set-Cookie"))
	}
	resp, body := get(t, g.url+"/", "Cookie: dns=yes")
	if l := leaks(g.set, rules.DefaultDeny, resp, body); len(l) > 0 {
		t.Errorf("custom opt-out cookie not enforced: %v", l)
	}
}

func TestUpstreamFailures(t *testing.T) {
	// A port nothing listens on: 502, quickly.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	g := startGate(t, "http://"+dead, "")
	resp, body := get(t, g.url+"/")
	if resp.StatusCode != 502 || !bytes.Contains(body, []byte("could not be reached")) {
		t.Errorf("refused upstream: %d %q", resp.StatusCode, body)
	}
	if v := testutil.ToFloat64(g.metrics.UpstreamErrors.WithLabelValues("default", "refused")); v != 1 {
		t.Errorf("upstream refused errors = %v, want 1", v)
	}

	// A slow upstream: 504 after the configured timeout.
	release := make(chan struct{})
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	defer close(release)
	g = startGate(t, "http://"+up.addr, "", func(o *proxy.Options) { o.UpstreamTimeout = 200 * time.Millisecond })
	start := time.Now()
	resp, _ = get(t, g.url+"/")
	if resp.StatusCode != 504 {
		t.Errorf("slow upstream: status %d, want 504", resp.StatusCode)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("504 took %v; the timeout is not applied", d)
	}
}

// TestAbsoluteFormIsNotAnOpenProxy: a request line naming another host than
// the Host header is refused, and nothing dials that host.
func TestAbsoluteFormIsNotAnOpenProxy(t *testing.T) {
	victim := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("victim") })
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("site") })
	g := startGate(t, "http://"+up.addr, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET http://%s/ HTTP/1.1\r\nHost: site.test\r\n\r\n", victim.addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || victim.requests() != 0 || up.requests() != 0 {
		t.Errorf("absolute-form to another host: status %d, victim got %d requests, upstream %d", resp.StatusCode, victim.requests(), up.requests())
	}
}

// TestTruncatedUpstreamIsVisible: an upstream that dies mid-body must not
// produce a complete-looking response, rewritten or not.
func TestTruncatedUpstreamIsVisible(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	big := strings.Repeat("<p>hello world</p>\n", 20000)
	small := strings.Repeat("<p>hello world</p>\n", 50)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				page := big
				if req.URL.Path == "/small" {
					page = small // read whole by the proxy before it answers
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(page), page[:len(page)/2])
			}(c)
		}
	}()
	g := startGate(t, "http://"+ln.Addr().String(), "")
	for _, c := range []struct{ path, h string }{{"/", "X-None: 1"}, {"/", "Sec-GPC: 1"}, {"/small", "X-None: 1"}, {"/small", "Sec-GPC: 1"}} {
		h := c.h
		req, _ := http.NewRequest("GET", g.url+c.path, nil)
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 {
			t.Errorf("%s %s: the client read a complete response from a truncated upstream", c.path, h)
		}
	}
}

func TestMetricsMove(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "")
	get(t, g.url+"/")
	get(t, g.url+"/", "Sec-GPC: 1", "Cookie: _ga=1")
	get(t, g.url+"/.consentgate/status")
	for _, c := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{g.metrics.Requests.WithLabelValues("default", "not_opted_out"), 1},
		{g.metrics.Requests.WithLabelValues("default", "opted_out"), 1},
		{g.metrics.Requests.WithLabelValues("default", "builtin"), 1},
		{g.metrics.OptOutSources.WithLabelValues("default", "gpc"), 1},
		{g.metrics.CookiesExpired.WithLabelValues("default", "analytics"), 1},
		{g.metrics.CookiesDropped.WithLabelValues("default", "analytics", "request"), 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%v = %v, want %v", c.c, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(g.metrics.ElementsRemoved); n == 0 {
		t.Errorf("no consentgate_rewrite_elements_total series after an opted-out page")
	}
	mfs, err := g.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "consentgate_rewrite_duration_seconds" {
			if h := mf.GetMetric()[0].GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() <= 0 {
				t.Errorf("rewrite duration: count %d sum %v; a one-chunk page must record its time", h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
	if probs, err := testutil.GatherAndLint(g.reg); err != nil || len(probs) > 0 {
		t.Errorf("metrics lint: %v %v", err, probs)
	}
}

// TestNoBodyResponses: HEAD, 204 and 304 pass without a body and without
// the rewriter, for opted-out visitors too.
func TestNoBodyResponses(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/204":
			ctx.SetStatusCode(204)
		case "/304":
			ctx.SetStatusCode(304)
			ctx.Response.Header.Set("ETag", `"v1"`)
		default:
			ctx.Response.Header.SetContentType("text/html")
			ctx.SetBodyString(`<html><head><script src="https://www.googletagmanager.com/gtm.js"></script></head></html>`)
		}
	})
	g := startGate(t, "http://"+up.addr, "")
	for _, sig := range []string{"X-None: 1", "Sec-GPC: 1"} {
		req, _ := http.NewRequest("HEAD", g.url+"/page", nil)
		k, v, _ := strings.Cut(sig, ":")
		req.Header.Set(k, strings.TrimSpace(v))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("HEAD with %s: %v", sig, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("HEAD with %s: status %d", sig, resp.StatusCode)
		}
		for _, p := range []string{"/204", "/304"} {
			resp, body := get(t, g.url+p, sig)
			if want := p[1:]; fmt.Sprint(resp.StatusCode) != want || len(body) != 0 {
				t.Errorf("GET %s with %s: status %d, %d body bytes", p, sig, resp.StatusCode, len(body))
			}
		}
	}
	// Pipelined requests on one connection, opted out and not, each get
	// their own decision.
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /a HTTP/1.1\r\nHost: x\r\nSec-GPC: 1\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nSec-GPC: 1\r\n\r\n")
	br := bufio.NewReader(conn)
	for i, wantTracker := range []bool{false, true, false} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("pipelined response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := bytes.Contains(body, []byte("googletagmanager")); got != wantTracker {
			t.Errorf("pipelined response %d: tracker present = %v, want %v", i, got, wantTracker)
		}
	}
}

// TestAccessLogCarriesNoPersonalData: the sampled access log says what was
// decided, never cookie values, consent strings, query strings or addresses.
func TestAccessLogCarriesNoPersonalData(t *testing.T) {
	var buf syncBuffer
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "", func(o *proxy.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
		o.AccessLogEvery = 1
	})
	get(t, g.url+"/pricing?email=visitor@example.com", "Cookie: _ga=GA1.1.SECRET42; usprivacy=1YYN; nw_session=SESSION77")
	out := buf.String()
	if !strings.Contains(out, `"site":"default"`) || !strings.Contains(out, `"path":"/pricing"`) || !strings.Contains(out, `"opted_out":true`) {
		t.Errorf("access log lacks the decision: %s", out)
	}
	for _, secret := range []string{"SECRET42", "1YYN", "SESSION77", "visitor@example.com", "127.0.0.1"} {
		if strings.Contains(out, secret) {
			t.Errorf("access log carries %q: %s", secret, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestUnlabelledHTMLIsRewritten: a page without Content-Type is sniffed, so
// an opted-out visitor's page cannot skip the rewriter for want of a label.
func TestUnlabelledHTMLIsRewritten(t *testing.T) {
	page := "<!DOCTYPE html><html><head><script src=\"https://www.googletagmanager.com/gtm.js?id=GTM-1\"></script></head><body>" + strings.Repeat("<p>text</p>", 200) + "</body></html>"
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/stream" {
			ctx.SetBodyStream(strings.NewReader(page), -1)
			return
		}
		ctx.SetBodyString(page)
	})
	g := startGate(t, "http://"+up.addr, "")
	for _, p := range []string{"/", "/stream"} {
		_, body := get(t, g.url+p, "Sec-GPC: 1")
		if bytes.Contains(body, []byte("googletagmanager")) || !bytes.HasSuffix(body, []byte("<p>text</p></body></html>")) {
			t.Errorf("%s: unlabelled HTML not rewritten or cut: %d bytes, %q…", p, len(body), body[:min(len(body), 120)])
		}
		_, body = get(t, g.url+p)
		if string(body) != page {
			t.Errorf("%s: pass-through of unlabelled body changed it", p)
		}
	}
}
