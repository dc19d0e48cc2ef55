package browsertest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// startSiteOpts is consentgate in front of h with one site whose options
// are opts (YAML flow mapping entries, e.g. "propagate: true").
func startSiteOpts(t *testing.T, h fasthttp.RequestHandler, opts string) *site {
	t.Helper()
	up := serve(t, h)
	cfg, err := config.Parse([]byte("upstream: http://"+up+"\nsites: [{name: news, hosts: [\"*\"], "+opts+"}]\n"), "signals-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startProxy(t, set)
	return s
}

// vendorJS stands for a functional vendor that stays on the page and
// checks the visitor's opt-out itself, as ad and analytics libraries do:
// through __uspapi and __gpp where the page has them.
const vendorJS = `(function () {
  var saw = { usp: null, ping: null, events: [], section: null, field: null, has: null };
  if (typeof __uspapi === "function") __uspapi("getUSPData", 1, function (d, ok) { saw.usp = ok ? d : "failed"; });
  if (typeof __gpp === "function") {
    __gpp("ping", function (d, ok) { saw.ping = ok ? d : "failed"; });
    __gpp("addEventListener", function (ev, ok) { saw.events.push(ev.eventName + ":" + ev.data + ":" + ev.pingData.signalStatus); });
    __gpp("getSection", function (d) { saw.section = d; }, "usnat");
    __gpp("getField", function (d) { saw.field = d; }, "usnat.SaleOptOut");
    __gpp("hasSection", function (d) { saw.has = d; }, "usnat");
  }
  window.__vendorSaw = saw;
})();`

// A consent tool that defines its own __uspapi after consentgate's: its
// answer wins.
const cmpUSPJS = `window.__uspapi = function (cmd, v, cb) { cb({ version: 1, uspString: "1YNY" }, true); };`

func propagationSite(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/vendor.js":
		ctx.SetContentType("text/javascript")
		ctx.SetBodyString(vendorJS)
	case "/cmp.js":
		ctx.SetContentType("text/javascript")
		ctx.SetBodyString(cmpUSPJS)
	case "/with-cmp":
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(`<!DOCTYPE html><html><head><title>News</title><script src="/cmp.js"></script><script src="/vendor.js"></script></head><body><h1>News</h1></body></html>`)
	default:
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(`<!DOCTYPE html><html><head><title>News</title><script src="/vendor.js"></script></head><body><h1>News</h1></body></html>`)
	}
}

// TestPropagationReachesVendors: with Sec-GPC: 1, a functional vendor's
// script on a page of a site with propagate gets the opt-out from
// __uspapi and __gpp (the GPP CMP API's shapes, the usnat section as the
// edge decodes the string), and the usprivacy, __gpp and __gpp_sid cookies
// hold the same; the edge reads the cookies back as an opt-out. A consent
// tool's own __uspapi replaces consentgate's. Without the signal the page
// has neither.
func TestPropagationReachesVendors(t *testing.T) {
	for _, opts := range []string{"guard: external", "guard: off", "guard: external, mirror: true"} {
		t.Run(opts, func(t *testing.T) {
			s := startSiteOpts(t, propagationSite, "propagate: true, "+opts)
			b := launch(t)
			tab, r := b.tab(t, network.Headers{"Sec-GPC": "1"})
			_, exceptions := visit(t, tab, r, s.url+"/")
			if len(exceptions) > 0 {
				t.Errorf("the page threw: %v", exceptions)
			}
			var saw map[string]any
			if err := chromedp.Run(tab, chromedp.Evaluate(`window.__vendorSaw`, &saw)); err != nil {
				t.Fatal(err)
			}
			if usp, _ := saw["usp"].(map[string]any); usp["uspString"] != "1YYN" || usp["version"] != 1.0 {
				t.Errorf("__uspapi getUSPData gave %v", saw["usp"])
			}
			ping, _ := saw["ping"].(map[string]any)
			if ping["gppString"] != signals.GPPOptOutGPC || ping["signalStatus"] != "ready" || ping["gppVersion"] != "1.1" ||
				!reflect.DeepEqual(ping["applicableSections"], []any{7.0}) {
				t.Errorf("__gpp ping gave %v", ping)
			}
			want, _ := json.Marshal(signals.PropagatedUSNat(true))
			got, _ := json.Marshal(saw["section"])
			if string(got) != string(want) {
				t.Errorf("getSection usnat:\n got %s\nwant %s", got, want)
			}
			if ps, _ := ping["parsedSections"].(map[string]any); ps == nil {
				t.Errorf("ping has no parsedSections")
			} else if p, _ := json.Marshal(ps["usnat"]); string(p) != string(want) {
				t.Errorf("ping parsedSections.usnat %s, want %s", p, want)
			}
			if saw["field"] != 1.0 || saw["has"] != true {
				t.Errorf("getField usnat.SaleOptOut %v, hasSection usnat %v", saw["field"], saw["has"])
			}
			if ev := saw["events"]; !reflect.DeepEqual(ev, []any{"listenerRegistered:true:ready", "signalStatus:ready:ready"}) {
				t.Errorf("addEventListener events %v", ev)
			}
			// The cookies, as the browser keeps them, read by the edge.
			var cookies []*network.Cookie
			if err := chromedp.Run(tab, chromedp.ActionFunc(func(ctx context.Context) (err error) {
				cookies, err = network.GetCookies().WithURLs([]string{s.url + "/"}).Do(ctx)
				return err
			})); err != nil {
				t.Fatal(err)
			}
			jar := map[string]string{}
			for _, c := range cookies {
				jar[c.Name] = c.Value
			}
			if jar["usprivacy"] != "1YYN" || jar["__gpp"] != signals.GPPOptOutGPC || jar["__gpp_sid"] != "7" {
				t.Errorf("cookies %v", jar)
			}
			// The consent mirror never reads consentgate's own answers
			// back as a visitor's choice.
			if _, ok := jar[signals.MirrorCookie]; ok {
				t.Errorf("the mirror recorded the propagated opt-out: %v", jar)
			}
			var h fasthttp.RequestHeader
			h.SetCookie("usprivacy", jar["usprivacy"])
			h.SetCookie("__gpp", jar["__gpp"])
			h.SetCookie("__gpp_sid", jar["__gpp_sid"])
			rd := signals.NewReader()
			defer rd.Close()
			if c := rd.Read(nil, &h); c.Errors != 0 || c.Sources != signals.USP|signals.GPP || !c.DoNotSell {
				t.Errorf("the edge reads the cookies as %+v", c)
			}
			// A consent tool that defines __uspapi itself wins.
			visit(t, tab, r, s.url+"/with-cmp")
			if err := chromedp.Run(tab, chromedp.Evaluate(`window.__vendorSaw`, &saw)); err != nil {
				t.Fatal(err)
			}
			if usp, _ := saw["usp"].(map[string]any); usp["uspString"] != "1YNY" {
				t.Errorf("with a consent tool's __uspapi the vendor got %v", saw["usp"])
			}
			b.close(t)

			// Without the signal: nothing defined, no cookie.
			b2 := launch(t)
			tab2, r2 := b2.tab(t, nil)
			visit(t, tab2, r2, s.url+"/")
			var none bool
			if err := chromedp.Run(tab2, chromedp.Evaluate(`typeof __uspapi === "undefined" && typeof __gpp === "undefined" && __vendorSaw.usp === null && document.cookie === ""`, &none)); err != nil || !none {
				t.Errorf("a visitor without a signal got the stubs or cookies (%v)", err)
			}
		})
	}
}

// trackerPage carries a denied vendor's script and pixel, a consent tool
// (cmpJS) and a button that records the visitor's choice in it.
func trackerPage(cmpJS string) string {
	return `<!DOCTYPE html><html><head><title>News</title>
<script>` + cmpJS + `</script>
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
</head><body><h1>News</h1><button id="reject">Reject all</button>
<img src="https://sb.scorecardresearch.com/p?c1=2" alt="">
</body></html>`
}

// fakeTCF is a consent tool that answers through __tcfapi, __gpp and
// __uspapi, keeping its state under a key of its own that the edge cannot
// read: before a choice nothing is decided; "Reject all" denies every
// purpose and opts out, and later pages load that choice.
const fakeTCF = `(function () {
  var rejected = localStorage.getItem("fakecmp") === "rejected", tcl = [], gppl = [];
  function tc(status) {
    return { gdprApplies: true, eventStatus: status, tcString: "x", purpose: { consents: rejected ? {} : { 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true } } };
  }
  function ping() {
    return { gppVersion: "1.1", signalStatus: "ready", parsedSections: { usnat: [{ SaleOptOut: rejected ? 1 : 2, SharingOptOut: rejected ? 1 : 2, TargetedAdvertisingOptOut: rejected ? 1 : 2 }] } };
  }
  window.__tcfapi = function (cmd, v, cb) { if (cmd === "addEventListener") { tcl.push(cb); cb(tc(rejected ? "tcloaded" : "cmpuishown"), true); } };
  window.__gpp = function (cmd, cb) {
    if (cmd !== "addEventListener") return;
    gppl.push(cb);
    cb({ eventName: "listenerRegistered", data: true, pingData: rejected ? ping() : { signalStatus: "not ready" } }, true);
  };
  window.__uspapi = function (cmd, v, cb) { cb({ version: 1, uspString: rejected ? "1YYN" : "1YNN" }, true); };
  document.addEventListener("click", function (e) {
    if (e.target.id !== "reject") return;
    rejected = true;
    localStorage.setItem("fakecmp", "rejected");
    tcl.forEach(function (cb) { cb(tc("useractioncomplete"), true); });
    gppl.forEach(function (cb) { cb({ eventName: "signalStatus", data: "ready", pingData: ping() }, true); });
  });
})();`

// fakeStorage is a JavaScript-only consent tool that keeps its choice in
// localStorage alone, as Klaro does with storageMethod "localStorage".
const fakeStorage = `document.addEventListener("click", function (e) {
  if (e.target.id === "reject") localStorage.setItem("klaro", encodeURIComponent(JSON.stringify({ "google-analytics": false, "facebook": false })));
});`

// TestMirrorEnforcesNextRequest: on a site with the mirror, a visitor
// without any signal loads trackers on request 1 and rejects them in a
// consent tool that keeps its state in the page; the mirror records the
// choice in its cookie, and request 2 of the same browser is enforced:
// no tracker requested, the decision's source the mirror.
func TestMirrorEnforcesNextRequest(t *testing.T) {
	tests := []struct {
		name, cmp, cookie string
		gzip              bool // the upstream gzips the page: the mirror follows as a gzip member
	}{
		{"tcfapi, gpp and uspapi", fakeTCF, "1.1.fads.tgu", false},
		{"localStorage only", fakeStorage, "1.0.fads.k", false},
		{"localStorage only, gzip page", fakeStorage, "1.0.fads.k", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := trackerPage(tt.cmp)
			var gzipped []byte
			if tt.gzip {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write([]byte(page)) //nolint:errcheck // to memory
				zw.Close()             //nolint:errcheck
				gzipped = b.Bytes()
			}
			s := startSiteOpts(t, func(ctx *fasthttp.RequestCtx) {
				ctx.SetContentType("text/html; charset=utf-8")
				if tt.gzip && strings.Contains(string(ctx.Request.Header.Peek("Accept-Encoding")), "gzip") {
					ctx.Response.Header.Set("Content-Encoding", "gzip")
					ctx.SetBody(gzipped)
					return
				}
				ctx.SetBodyString(page)
			}, "mirror: true")
			b := launch(t)
			tab, r := b.tab(t, nil)
			urls, exceptions := visit(t, tab, r, s.url+"/")
			if len(s.trackerRequests(urls)) == 0 {
				t.Fatalf("request 1, before any choice, loaded no tracker: %v", urls)
			}
			if len(exceptions) > 0 {
				t.Errorf("request 1 threw: %v", exceptions)
			}
			ctx, cancel := context.WithTimeout(tab, pageTimeout)
			defer cancel()
			var cookie string
			if err := chromedp.Run(ctx,
				chromedp.Click("#reject", chromedp.ByQuery, chromedp.NodeVisible),
				chromedp.Poll(`(document.cookie.match(/(?:^|; )consentgate_mirror=([^;]*)/) || [])[1]`, &cookie, chromedp.WithPollingTimeout(5*time.Second)),
			); err != nil {
				t.Fatalf("the mirror wrote no cookie after the choice: %v", err)
			}
			if cookie != tt.cookie {
				t.Errorf("consentgate_mirror=%s, want %s", cookie, tt.cookie)
			}
			urls, exceptions = visit(t, tab, r, s.url+"/")
			if leaks := s.trackerRequests(urls); len(leaks) > 0 {
				t.Errorf("request 2 after the choice loaded trackers: %v", leaks)
			}
			if len(exceptions) > 0 {
				t.Errorf("request 2 threw: %v", exceptions)
			}
			var status struct {
				OptedOut bool     `json:"opted_out"`
				Sources  []string `json:"sources"`
				Denied   []string `json:"denied"`
			}
			var raw string
			visit(t, tab, r, s.url+"/.consentgate/status")
			if err := chromedp.Run(tab, chromedp.Evaluate(`document.body.innerText`, &raw)); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(raw), &status); err != nil {
				t.Fatalf("status: %v\n%s", err, raw)
			}
			if !status.OptedOut || strings.Join(status.Sources, ",") != "mirror" || len(status.Denied) == 0 {
				t.Errorf("status after the choice: %+v", status)
			}
			t.Logf("request 1: trackers loaded; mirror cookie %s; request 2: %d requests, none to a tracker; status %+v", cookie, len(urls), status)
		})
	}
}

// TestMirrorReadsStorageAsEdgeReadsCookies holds the mirror's readers of
// the six consent tools' storage to the edge's cookie parsers: for each
// value, a page whose localStorage holds it leaves the mirror's cookie
// (or none), and the edge decides on that cookie what it decides on the
// same value sent as the tool's own cookie (denied categories and "do not
// sell"): a value it cannot read included.
func TestMirrorReadsStorageAsEdgeReadsCookies(t *testing.T) {
	didomi := func(enabled, disabled string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"user_id":"u","purposes":{"enabled":[` + enabled + `],"disabled":[` + disabled + `]}}`))
	}
	cases := []struct{ key, value string }{
		{"OptanonConsent", "isGpcEnabled=0&datestamp=x&groups=C0001%3A1%2CC0002%3A0%2CC0004%3A1"},
		{"OptanonConsent", "isGpcEnabled=1&groups="},
		{"OptanonConsent", "groups=C0001%3A1%2CC0003%3A0%2CC0005%3A0"},
		{"OptanonConsent", "garbage"},
		{"CookieConsent", "{stamp:%27x%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1}"},
		{"CookieConsent", "-1"},
		{"CookieConsent", "{stamp:%27x%27%2Cstatistics:maybe}"},
		{"cookieyes-consent", "consentid:x,consent:yes,action:yes,necessary:yes,functional:no,analytics:yes,performance:no,advertisement:no,other:no"},
		{"cookieyes-consent", "consentid:x,consent:yes,action:yes,necessary:yes,functional:yes,analytics:yes,performance:yes,advertisement:yes,other:yes"},
		{"cmplz_marketing", "deny"},
		{"cmplz_statistics", "allow"},
		{"cmplz_functional", "perhaps"},
		{"didomi_token", didomi(`"cookies","select_basic_ads"`, `"measure_ad_performance"`)},
		{"didomi_token", didomi(`"cookies","select_basic_ads","create_ads_profile","select_personalized_ads","create_content_profile","select_personalized_content","measure_ad_performance","measure_content_performance","market_research"`, ``)},
		{"didomi_token", "!!!"},
		{"klaro", "%7B%22ga%22%3Afalse%2C%22fb%22%3Afalse%7D"},
		{"klaro", "%7B%22ga%22%3Atrue%2C%22fb%22%3Afalse%7D"},
		{"klaro", "not json"},
	}
	s := startSiteOpts(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(`<!DOCTYPE html><html><head><title>News</title></head><body><h1>News</h1></body></html>`)
	}, "mirror: true")
	b := launch(t)
	tab, r := b.tab(t, nil)
	visit(t, tab, r, s.url+"/")
	rd := signals.NewReader()
	defer rd.Close()
	site := &rules.Site{Deny: rules.DefaultDeny, Mirror: true, OneTrustGroups: map[string]rules.Category{
		"C0001": rules.Necessary, "C0002": rules.Analytics, "C0003": rules.Functional, "C0004": rules.Advertising, "C0005": rules.Social}}
	decide := func(name, value string) (rules.Categories, bool) {
		var h fasthttp.RequestHeader
		if value != "" {
			h.SetCookie(name, value)
		}
		c := rd.Read(signals.PolicyOf(site), &h)
		return c.Denied, c.DoNotSell
	}
	for _, tc := range cases {
		js := `localStorage.clear(); document.cookie = "consentgate_mirror=; max-age=0; path=/"; localStorage.setItem(` +
			strconv.Quote(tc.key) + `, ` + strconv.Quote(tc.value) + `)`
		if err := chromedp.Run(tab, chromedp.Evaluate(js, nil)); err != nil {
			t.Fatal(err)
		}
		visit(t, tab, r, s.url+"/")
		var cookie string
		if err := chromedp.Run(tab, chromedp.Evaluate(`new Promise(function (ok) { setTimeout(function () {
			ok((document.cookie.match(/(?:^|; )consentgate_mirror=([^;]*)/) || [])[1] || ""); }, 100); })`, &cookie,
			func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s=%q → %q", tc.key, tc.value, cookie)
		gotDenied, gotSell := decide(signals.MirrorCookie, cookie)
		wantDenied, wantSell := decide(tc.key, tc.value)
		if gotDenied != wantDenied || gotSell != wantSell {
			t.Errorf("%s=%q: the mirror wrote %q, which denies %v (do not sell %v); the cookie denies %v (do not sell %v)",
				tc.key, tc.value, cookie, gotDenied, gotSell, wantDenied, wantSell)
		}
	}
}
