package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// injections are the ways the first-party bundle below loads a tracker at
// run time, none of them visible in the HTML: the vector, the host it
// loads from (each a different one, so each is seen on its own) and the
// vendor that host belongs to. cross is false for a load the browser
// refuses by itself (a cross-origin worker throws), so it is not expected
// without the signal either.
var injections = []struct {
	name, host, vendor string
	cross              bool
}{
	{"script", "connect.facebook.net", "meta-pixel", true},
	{"pixel", "ct.pinterest.com", "pinterest-tag", true},
	{"beacon", "www.google-analytics.com", "google-analytics", true},
	{"fetch", "api.segment.io", "segment", true},
	{"xhr", "bat.bing.com", "microsoft-uet", true},
	{"iframe", "www.youtube.com", "youtube", true},
	{"document.write", "www.googletagservices.com", "google-ad-manager", true},
	{"innerHTML", "px.ads.linkedin.com", "linkedin-insight", true},
	{"new Image", "sb.scorecardresearch.com", "comscore", true},
	{"WebSocket", "ws.hotjar.com", "hotjar", true},
	{"EventSource", "api-js.mixpanel.com", "mixpanel", true},
	{"insertAdjacentHTML", "tr.snapchat.com", "snap-pixel", true},
	{"setAttribute", "static.criteo.net", "criteo", true},
	{"srcset", "s.pinimg.com", "pinterest-tag", true},
	{"frame fetch", "analytics.tiktok.com", "tiktok-pixel", true},
	{"Worker", "script.hotjar.com", "hotjar", false},
	{"outerHTML", "www.clarity.ms", "microsoft-clarity", true},
	{"createContextualFragment", "c.amazon-adsystem.com", "amazon-ads", true},
	{"setAttributeNS", "pixel.adsafeprotected.com", "integral-ad-science", true},
	{"srcdoc", "cdn.taboola.com", "taboola", true},
	{"srcdoc script", "www.googleadservices.com", "google-ads", true},
	{"DOMParser adopt", "widgets.outbrain.com", "outbrain", true},
	{"fetch Request", "cdn.heapanalytics.com", "heap", true},
	{"link", "script.crazyegg.com", "crazy-egg", true},
	{"inline loader", "pixel.quantserve.com", "quantcast", true},
	{"window.open", "alb.reddit.com", "reddit-pixel", true},
	{"split write", "ads.yahoo.com", "yahoo-ads", true},
}

// allowedHost is a functional vendor's (google-maps): it loads for an
// opted-out visitor too.
const allowedHost = "maps.googleapis.com"

// bundleJS is a first-party script, as a tag manager bundle served from the
// site's own origin: it tries every injection, records how each ended, and
// sets window.__bundleDone after its attempts.
const bundleJS = `(function () {
  var r = window.__results = {};
  function mark(k) { return function (e) { r[k] = e && e.type || String(e); }; }
  var s = document.createElement("script");
  s.onerror = mark("script");
  s.src = "https://connect.facebook.net/en_US/fbevents.js";
  document.head.appendChild(s);
  var i = document.createElement("img");
  i.onerror = mark("pixel");
  i.src = "https://ct.pinterest.com/v3/?tid=1&event=init";
  document.head.appendChild(i);
  r.beacon = navigator.sendBeacon("https://www.google-analytics.com/g/collect?v=2&en=page_view", "x");
  fetch("https://api.segment.io/v1/p", {method: "POST", body: "{}"}).then(mark("fetch-ok"), function (e) { r.fetch = e.constructor.name; });
  var x = new XMLHttpRequest();
  x.onerror = mark("xhr");
  x.open("GET", "https://bat.bing.com/action/0?ti=1");
  x.send();
  document.write('<script src="https://www.googletagservices.com/tag/js/gpt.js"><\/script>');
  document.write('<script src="https://ads.ya');
  document.write('hoo.com/x.js"><\/script>');
  var m = new Image();
  m.onerror = mark("new Image");
  m.src = "https://sb.scorecardresearch.com/p?c1=2&c2=1";
  try {
    var ws = new WebSocket("wss://ws.hotjar.com/api/v2/client/ws");
    ws.onerror = mark("WebSocket");
  } catch (e) { r.WebSocket = "threw " + e.name; }
  var es = new EventSource("https://api-js.mixpanel.com/stream");
  es.onerror = function () { r.EventSource = "error"; es.close(); };
  try {
    var w = new Worker("https://script.hotjar.com/worker.js");
    w.onerror = mark("Worker");
  } catch (e) { r.Worker = "threw " + e.name; }
  var l = document.createElement("script");
  l.onerror = mark("allowed-error");
  l.onload = mark("allowed-load");
  l.src = "https://maps.googleapis.com/maps/api/js?key=test";
  document.head.appendChild(l);
  document.addEventListener("DOMContentLoaded", function () {
    var f = document.createElement("iframe");
    f.src = "https://www.youtube.com/embed/abc";
    document.body.appendChild(f);
    var d = document.createElement("div");
    d.innerHTML = '<img src="https://px.ads.linkedin.com/collect?pid=1&fmt=gif" alt="">';
    document.body.appendChild(d);
    document.body.insertAdjacentHTML("beforeend", '<img src="https://tr.snapchat.com/p?e=PAGE_VIEW" alt="">');
    var a = document.createElement("img");
    a.setAttribute("src", "https://static.criteo.net/js/ld/publishertag.prebid.js");
    document.body.appendChild(a);
    var b = document.createElement("img");
    b.srcset = "https://s.pinimg.com/ct/lib/main.js 1x, /logo.png 2x";
    b.src = "/logo.png";
    document.body.appendChild(b);
    var blank = document.createElement("iframe");
    document.body.appendChild(blank);
    blank.contentWindow.fetch("https://analytics.tiktok.com/api/v2/pixel").catch(function (e) { r["frame fetch"] = e.constructor.name; });
    var o = document.createElement("span");
    document.body.appendChild(o);
    o.outerHTML = '<img src="https://www.clarity.ms/tag/x.gif" alt="">';
    var range = document.createRange();
    range.selectNode(document.body);
    document.body.appendChild(range.createContextualFragment('<script src="https://c.amazon-adsystem.com/aax2/apstag.js"><\/script>'));
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    var im2 = document.createElementNS("http://www.w3.org/2000/svg", "image");
    im2.setAttributeNS("http://www.w3.org/1999/xlink", "xlink:href", "https://pixel.adsafeprotected.com/px.gif");
    svg.appendChild(im2);
    document.body.appendChild(svg);
    var sd = document.createElement("iframe");
    sd.srcdoc = '<img src="https://cdn.taboola.com/x.gif" alt="">';
    document.body.appendChild(sd);
    var sd2 = document.createElement("iframe");
    sd2.srcdoc = '<script>var p = new Image(); p.src = "https://" + "www.googleadservices.com/pagead/conversion/1/";<\/script>';
    document.body.appendChild(sd2);
    var parsed = new DOMParser().parseFromString('<img src="https://widgets.outbrain.com/x.gif" alt="">', "text/html");
    document.body.appendChild(parsed.body.firstChild);
    fetch(new Request("https://cdn.heapanalytics.com/js/heap-1.js")).catch(function (e) { r["fetch Request"] = e.constructor.name; });
    var ln = document.createElement("link");
    ln.rel = "stylesheet";
    ln.href = "https://script.crazyegg.com/pages/x.css";
    document.head.appendChild(ln);
    var il = document.createElement("script");
    il.text = 'var q = document.createElement("script"); q.src = (location.protocol == "https:" ? "https://secure" : "http://pixel") + ".quantserve.com/aquant.js"; document.body.appendChild(q);';
    document.body.appendChild(il);
    // A pop-up needs a user's click: the test clicks this button.
    document.getElementById("open").addEventListener("click", function () {
      var pop = window.open("https://alb.reddit.com/rp.gif?id=1", "_blank", "width=1,height=1");
      r["window.open"] = pop === null ? "null" : "window";
    });
    window.__bundleDone = true;
  });
})();
`

const bundlePage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Northwind news</title>
<script src="/bundle.js"></script></head>
<body><h1>Northwind news</h1><button id="open">Open</button><p id="do-not-sell">Do Not Sell or Share My Personal Information</p></body></html>`

func bundleSite(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/bundle.js":
		ctx.SetContentType("text/javascript")
		ctx.SetBodyString(bundleJS)
	case "/logo.png":
		ctx.SetStatusCode(404)
	default:
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(bundlePage)
	}
}

// guardedSite is consentgate in front of the bundle site, with a metrics
// registry the test reads.
type guardedSite struct {
	site
	metrics *proxy.Metrics
}

func startGuardedSite(t *testing.T, mode string) *guardedSite {
	t.Helper()
	return startGuardedSiteWith(t, mode, bundleSite)
}

// startGuardedSiteWith is startGuardedSite with h as the upstream.
func startGuardedSiteWith(t *testing.T, mode string, h fasthttp.RequestHandler) *guardedSite {
	t.Helper()
	up := serve(t, h)
	cfg, err := config.Parse([]byte("upstream: http://"+up+"\nsites: [{name: news, hosts: [\"*\"], guard: "+mode+"}]\n"), "guard-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, m := startProxy(t, set)
	g := &guardedSite{site: *s, metrics: m}
	return g
}

// hostsOf returns the hosts of the URLs (http, https, ws, wss).
func hostsOf(urls []string) map[string]bool {
	out := map[string]bool{}
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && u.Host != "" && u.Scheme != "blob" {
			out[u.Hostname()] = true
		}
	}
	return out
}

// bundleRun loads the bundle page, waits for the bundle's marker and the
// network to settle, and returns the requests, exceptions and how each
// injection ended.
func bundleRun(t *testing.T, tab context.Context, r *recorder, u string) (urls, exceptions []string, results map[string]any) {
	t.Helper()
	urls, exceptions = visit(t, tab, r, u)
	ctx, cancel := context.WithTimeout(tab, pageTimeout)
	defer cancel()
	var done bool
	if err := chromedp.Run(ctx, chromedp.Poll(`window.__bundleDone === true`, &done, chromedp.WithPollingTimeout(5*time.Second))); err != nil || !done {
		t.Fatalf("%s: the bundle did not finish (the page broke): %v", u, err)
	}
	if err := chromedp.Run(ctx, chromedp.Click("#open", chromedp.ByQuery, chromedp.NodeVisible)); err != nil {
		t.Fatalf("%s: clicking the pop-up button: %v", u, err)
	}
	// The events of refused loads come after the current script.
	time.Sleep(300 * time.Millisecond) //nolint:forbidigo // a settle delay, not ordering: results are read as they are
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.__results`, &results)); err != nil {
		t.Fatal(err)
	}
	more, exc := r.take()
	return append(urls, more...), append(exceptions, exc...), results
}

func TestGuardRefusesRuntimeLoads(t *testing.T) {
	for _, mode := range []string{"external", "inline"} {
		t.Run(mode, func(t *testing.T) {
			s := startGuardedSite(t, mode)
			b := launch(t)
			tab, r := b.tab(t, network.Headers{"Sec-GPC": "1"})
			urls, exceptions, results := bundleRun(t, tab, r, s.url+"/")
			if leaks := s.trackerRequests(urls); len(leaks) > 0 {
				t.Errorf("with Sec-GPC: 1 the browser requested denied vendors:\n  %s", strings.Join(leaks, "\n  "))
			}
			if len(exceptions) > 0 {
				t.Errorf("with Sec-GPC: 1 the page threw:\n  %s", strings.Join(exceptions, "\n  "))
			}
			// What page code saw: failures, as from a content blocker.
			for k, want := range map[string]any{
				"script": "error", "pixel": "error", "beacon": true, "fetch": "TypeError", "xhr": "error",
				"new Image": "error", "WebSocket": "error", "EventSource": "error", "Worker": "error",
				"frame fetch": "TypeError", "fetch Request": "TypeError", "window.open": "null",
			} {
				if results[k] != want {
					t.Errorf("with Sec-GPC: 1, %s ended as %v, want %v (as a blocked load)", k, results[k], want)
				}
			}
			// Leave the page: the guard sends what it has not sent yet.
			visit(t, tab, r, "about:blank")
			b.close(t)
			denied, other := b.connectedHosts(&s.site)
			if len(denied) > 0 {
				t.Errorf("with Sec-GPC: 1 the browser connected to denied hosts: %s", strings.Join(denied, ", "))
			}
			if !slices.Contains(other, allowedHost) {
				t.Errorf("the allowed functional vendor (%s) was not loaded: connections to %q", allowedHost, other)
			}
			// Every injection is counted under its vendor.
			want := map[string]bool{}
			for _, in := range injections {
				want[in.vendor] = true
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				var missing []string
				for v := range want {
					if testutil.ToFloat64(s.metrics.RuntimeBlocked.WithLabelValues("news", vendorCategory(t, v), v)) < 1 {
						missing = append(missing, v)
					}
				}
				if len(missing) == 0 {
					break
				}
				if time.Now().After(deadline) {
					sort.Strings(missing)
					t.Errorf("not counted in consentgate_runtime_blocked_total: %s", strings.Join(missing, ", "))
					break
				}
				time.Sleep(50 * time.Millisecond) //nolint:forbidigo // polling with a deadline
			}
			t.Logf("guard %s: %d requests, 0 to denied vendors; results %v", mode, len(urls), results)
		})
	}
}

// vendorCategory is the category label of a catalogue vendor.
func vendorCategory(t *testing.T, id string) string {
	t.Helper()
	cat, err := rules.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range cat {
		if v.ID == id {
			return v.CategoryName
		}
	}
	t.Fatalf("no catalogue vendor %q", id)
	return ""
}

// TestBundleWithoutSignalContactsTrackers: the same page without a signal
// reaches every tracker host the bundle injects, so the test above cannot
// pass vacuously.
func TestBundleWithoutSignalContactsTrackers(t *testing.T) {
	s := startGuardedSite(t, "external")
	b := launch(t)
	tab, r := b.tab(t, nil)
	urls, _, results := bundleRun(t, tab, r, s.url+"/")
	b.close(t)
	seen := hostsOf(urls)
	for _, h := range b.sink.Hosts() {
		seen[h] = true
	}
	var missed []string
	for _, in := range injections {
		if in.cross && !seen[in.host] {
			missed = append(missed, fmt.Sprintf("%s (%s)", in.host, in.name))
		}
	}
	if len(missed) > 0 {
		t.Errorf("without a signal the page did not contact: %s", strings.Join(missed, ", "))
	}
	t.Logf("without a signal: %d requests; results %v", len(urls), results)
}
