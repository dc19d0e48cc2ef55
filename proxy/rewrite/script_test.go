package rewrite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

// guarded is optOut with the runtime guard on (or off).
func guarded(tb testing.TB, guard bool) Policy {
	p := optOut(tb, false)
	p.Guard = guard
	return p
}

// onlyScript rewrites a page of one inline script between two paragraphs
// and returns the output and the record of the script.
func onlyScript(t *testing.T, tag, body string, p Policy) (string, Script) {
	t.Helper()
	in := "<p>a</p>" + tag + body + "</script><p>b</p>"
	var out bytes.Buffer
	w := NewWriter(&out, p)
	w.Write([]byte(in))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(w.Scripts()); n != 1 {
		t.Fatalf("%d scripts recorded, want 1", n)
	}
	return out.String(), w.Scripts()[0]
}

// TestIssue19Repros: a site's bootstrap script that configures vendors, and
// an application bundle that calls one, pass through unchanged when the
// page gets the runtime guard. Without it the stricter rule removes them,
// whole: never a script with bytes cut out of it.
func TestIssue19Repros(t *testing.T) {
	var boot strings.Builder
	boot.WriteString(`var SITE = SITE || {};` + "\n")
	for i := 0; boot.Len() < 60<<10; i++ {
		boot.WriteString(`SITE.config` + itoa(i) + ` = {"enabled":true,"label":"Item ` + itoa(i) + `","path":"/section/` + itoa(i) + `"};` + "\n")
	}
	boot.WriteString(`SITE.Chartbeat = {"MABsrc":"//static.chartbeat.com/js/chartbeat_mab.js","uid":12345};` + "\n")
	for i := 0; boot.Len() < 110<<10; i++ {
		boot.WriteString(`SITE.more` + itoa(i) + ` = function(a){ return a + ` + itoa(i) + `; };` + "\n")
	}
	boot.WriteString(`SITE.analytics = {"segmentUrl":"https://cdn.segment.com/analytics.js/v1/","writeKey":"abc"};` + "\n")
	for boot.Len() < 120<<10 {
		boot.WriteString("SITE.pad = (SITE.pad || 0) + 1;\n")
	}
	bundle := strings.Repeat("var x=1;", 10<<10) + "if(window.googletag&&w(window.googletag.pubads().getSlots))return!0;" + strings.Repeat("var x=1;", 10<<10)
	ad, _ := sets(t)
	adOnly := Policy{Set: ad, Site: ad.Sites()[0], Deny: rules.Of(rules.Advertising), Stub: true}
	for _, tc := range []struct {
		name, body string
		p          Policy
		vendor     string
	}{
		{"bootstrap", boot.String(), optOut(t, true), "chartbeat"},
		{"bundle", bundle, adOnly, "google-ad-manager"},
	} {
		script := "<script>" + tc.body + "</script>"
		page := "<!doctype html><html><head><title>t</title>" + script + "<script>SITE.start()</script></head><body><p>x</p></body></html>"
		for _, guard := range []bool{true, false} {
			p := tc.p
			p.Guard = guard
			var out bytes.Buffer
			w := NewWriter(&out, p)
			for i := 0; i < len(page); i += 16 << 10 {
				w.Write([]byte(page[i:min(len(page), i+16<<10)]))
			}
			w.Close()
			got := out.String()
			s := w.Scripts()[0]
			if guard {
				if !strings.Contains(got, script) {
					t.Errorf("%s, guard on: the script did not pass through byte for byte", tc.name)
				}
				if s.Decision != Kept || s.Reason != ReasonFirstParty || s.NumFirstParty == 0 {
					t.Errorf("%s, guard on: %v (%v, %d first-party names), want kept for first-party state", tc.name, s.Decision, s.Reason, s.NumFirstParty)
				}
				continue
			}
			if strings.Contains(got, tc.body[:200]) || strings.Contains(got, tc.body[len(tc.body)-200:]) {
				t.Errorf("%s, guard off: some of the script is left", tc.name)
			}
			if s.Decision != Removed || s.Vendor == nil || s.Vendor.ID != tc.vendor || s.Reason != ReasonLoader && s.Reason != ReasonNoGuard {
				t.Errorf("%s, guard off: %v %v %v, want removed for %s", tc.name, s.Decision, s.Reason, s.Vendor, tc.vendor)
			}
		}
	}
}

// loaders are inline scripts that load a denied vendor and define nothing
// of the site's own: removed, with the guard and without, and neutralised
// whole where the site neutralises.
var loaders = []struct{ name, tag, body, vendor string }{
	{"quantcast concatenation", "<script>", `var _qevents = _qevents || [];
(function() { var elem = document.createElement('script');
elem.src = (document.location.protocol == "https:" ? "https://secure" : "http://edge") + ".quantserve.com/quant.js";
elem.async = true; var scpt = document.getElementsByTagName('script')[0]; scpt.parentNode.insertBefore(elem, scpt); })();
_qevents.push({ qacct:"p-test" });`, "quantcast"},
	{"gpt document.write with a src variable", "<script type='text/javascript'>", `var googletag = googletag || {}; googletag.cmd = googletag.cmd || [];
(function() { var useSSL = 'https:' == document.location.protocol;
var src = (useSSL ? 'https:' : 'http:') + '//www.googletagservices.com/tag/js/gpt.js';
document.write('<scr' + 'ipt src="' + src + '"></scr' + 'ipt>'); })();`, "google-ad-manager"},
	{"comscore", "<script>", `var _comscore = _comscore || [];
_comscore.push({ c1: "2", c2: "1234567" });
(function() { var s = document.createElement("script"), el = document.getElementsByTagName("script")[0]; s.async = true;
s.src = (document.location.protocol == "https:" ? "https://sb" : "http://b") + ".scorecardresearch.com/beacon.js";
el.parentNode.insertBefore(s, el); })();`, "comscore"},
	{"outbrain widget loader", "<script>", `(function() { window.OB_platformType = 8; window.OB_langJS = 'lang_en.js'; window.OB_recMode = 'brn_strip';
var ob = document.createElement('script'); ob.type = 'text/javascript'; ob.async = true;
ob.src = 'http' + ('https:' === document.location.protocol ? 's' : '') + '://widgets.outbrain.com/outbrainLT.js';
var h = document.getElementsByTagName('script')[0]; h.parentNode.insertBefore(ob, h); })();`, "outbrain"},
	{"moat pixel assembled in minified code", "<script>", `!function(e,t){var n=e.createElement("img");n.src=("https:"==e.location.protocol?"https:":"http:")+"//"+"px.moatads.com"+"/pixel.gif?e=17&q="+t,e.body.appendChild(n)}(document,"x");`, "oracle-moat"},
	{"moat host part after a variable", "<script>", `!function(e){var t="https://"+e+".moatads.com/yi.js",n=document.createElement("script");n.src=t}("z");`, "oracle-moat"},
	{"escaped slashes", "<script>", `(function(){var s=document.createElement("script");s.src="https:\/\/cdn.taboola.com\/libtrc\/x\/loader.js";document.head.appendChild(s)})();`, "taboola"},
	{"hex escapes", "<script>", `(function(){var s=document.createElement("script");s.src="\x2f\x2fcdn.taboola.com/libtrc/x/loader.js";document.head.appendChild(s)})();`, "taboola"},
	{"unicode escapes", "<script>", `(function(){var s=document.createElement("script");s.src="\u002f\u002f" + "static.chartbeat.com/js/chartbeat.js";document.head.appendChild(s)})();`, "chartbeat"},
	{"unicode code point escapes", "<script>", "(function(){var s=document.createElement('script');s.src='\\u{2f}\\u{2F}connect.facebook.net/en_US/sdk.js';document.head.appendChild(s)})();", "meta-pixel"},
	{"template literal", "<script>", "(function(id){var s=document.createElement('script');s.src=`//cdn.taboola.com/libtrc/${id}/loader.js`;document.head.appendChild(s)})('x');", "taboola"},
	{"scheme built apart", "<script>", `(function(){var s=document.createElement("script");s.src="http"+("https:"===location.protocol?"s":"")+"://platform.twitter.com/widgets.js";document.body.appendChild(s)})();`, "x-embeds"},
	{"host and path without scheme", "<script>", `(function(){var s=document.createElement("script");s.src=location.protocol+"//"+"js-agent.newrelic.com/nr-1130.min.js";document.head.appendChild(s)})();`, "new-relic-browser"},
	{"svg createElement loader", "<svg><script>", `(function(){var s=document.createElementNS("http://www.w3.org/1999/xhtml","script");s.src="https://www.googletagmanager.com/gtm.js?id=GTM-X";document.documentElement.appendChild(s)})();`, "google-tag-manager"},
	{"svg loader with character references", "<svg><script>", `(function(){var s=document.createElement('script');s.src='&#x2F;&#x2F;connect.facebook.net/en_US/fbevents.js';document.documentElement.appendChild(s)})();`, "meta-pixel"},
	{"gtm snippet", "<script>", `(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-XXXX');`, "google-tag-manager"},
	{"ga config calls only", "<script>", "window.dataLayer = window.dataLayer || [];\nfunction gtag(){dataLayer.push(arguments);}\ngtag('js', new Date());\ngtag('config', 'G-XXXX');", "google-analytics"},
	{"gpt slot definitions", "<script>", `googletag.cmd.push(function() { googletag.defineSlot('/1/x', [728, 90], 'div-1').addService(googletag.pubads()); googletag.enableServices(); });`, "google-ad-manager"},
	{"vendor loader deferred to load", "<script>", `window.addEventListener('load', function() { var s = document.createElement('script'); s.src = '//cdn.taboola.com/libtrc/x/loader.js'; document.body.appendChild(s); });`, "taboola"},
	{"chartbeat config and loader", "<script>", `var _sf_async_config = _sf_async_config || {}; _sf_async_config.uid = 1; _sf_async_config.domain = 'example.com';
(function(){ function loadChartbeat(){ var e = document.createElement('script'); e.src = '//static.chartbeat.com/js/chartbeat.js'; document.body.appendChild(e); } window.addEventListener('load', loadChartbeat); })();`, "chartbeat"},
	{"signature in a string, host not denied", "<script>", `fbq('init', '1234'); fbq('track', 'PageView');`, "meta-pixel"},
	{"html-like comment wrapper", "<script>", "<!--\n(function(){var s=document.createElement('script');s.src='//static.chartbeat.com/js/chartbeat.js';document.body.appendChild(s)})();\n//-->", "chartbeat"},
}

func TestInlineLoaders(t *testing.T) {
	_, ns := sets(t)
	neutralP := Policy{Set: ns, Site: ns.Sites()[0], Deny: rules.DefaultDeny}
	for _, tc := range loaders {
		for _, guard := range []bool{true, false} {
			out, s := onlyScript(t, tc.tag, tc.body, guarded(t, guard))
			if strings.Contains(out, "script") || s.Decision != Removed || s.Reason != ReasonLoader || s.Vendor == nil || s.Vendor.ID != tc.vendor {
				v := "<nil>"
				if s.Vendor != nil {
					v = s.Vendor.ID
				}
				t.Errorf("%s, guard %v: %v, %v, vendor %s; want removed as %s's loader\noutput: %.200s", tc.name, guard, s.Decision, s.Reason, v, tc.vendor, out)
			}
		}
		np := neutralP
		np.Guard = true
		out, s := onlyScript(t, tc.tag, tc.body, np)
		if s.Decision != Neutralised || !strings.Contains(out, `type="text/plain" data-consent-category="`) || !strings.Contains(out, ">"+tc.body+"</script>") {
			t.Errorf("%s, neutralise: %v; want the script kept whole as text/plain\noutput: %.300s", tc.name, s.Decision, out)
		}
	}
}

// mentions name a denied vendor without loading it: kept.
var mentions = []struct{ name, tag, body string }{
	{"host in a line comment", "<script>", "(function(){ // loads like https://connect.facebook.net/en_US/fbevents.js\n document.title = 'x'; })();"},
	{"signature in a block comment", "<script>", "/* googletag.pubads() and 'gtm.start' live elsewhere */ (function(){ document.title = 'x'; })();"},
	{"host in a label", "<script>", `(function(){ var m = {label: "Share on facebook.com", cls: "icon-connect.facebook"}; document.title = m.label; })();`},
	{"host in a CSS class", "<script>", `(function(){ document.body.className += " taboola-widget quantserve"; })();`},
	{"bare host not concatenated", "<script>", `(function(){ var blocked = ["quantserve.com", "facebook.com"]; console.log(blocked.length); })();`},
	{"relative path", "<script>", `(function(){ var s = document.createElement('script'); s.src = '/js/analytics.js'; document.head.appendChild(s); })();`},
	{"first-party URL", "<script>", `(function(){ var s = document.createElement('script'); s.src = 'https://static.example.com/app.js'; document.head.appendChild(s); })();`},
	{"host inside a regular expression", "<script>", `(function(){ if (/connect\.facebook\.net/.test(document.referrer)) document.title = 'from facebook'; })();`},
	{"regexp then string", "<script>", `(function(){ var r = /'/g, s = "it's"; document.title = s.replace(r, ""); })();`},
	{"json data block", `<script type="application/json">`, `{"loader":"https://www.googletagmanager.com/gtm.js?id=GTM-1","pixel":"https://connect.facebook.net/en_US/fbevents.js"}`},
	{"ld+json", `<script type="application/ld+json">`, `{"@context":"https://schema.org","sameAs":["https://www.facebook.com/example","https://twitter.com/example"]}`},
	{"template", `<script type="text/template">`, `<img src="https://www.facebook.com/tr?id=1">`},
}

func TestInlineMentions(t *testing.T) {
	for _, tc := range mentions {
		for _, guard := range []bool{true, false} {
			out, s := onlyScript(t, tc.tag, tc.body, guarded(t, guard))
			if !strings.Contains(out, tc.tag+tc.body+"</script>") || s.Decision != Kept && s.Decision != Data || s.Vendor != nil {
				t.Errorf("%s, guard %v: %v %v (vendor %v); want kept unchanged\noutput: %.300s", tc.name, guard, s.Decision, s.Reason, s.Vendor, out)
			}
		}
	}
}

// TestFirstPartyState: a script with loader evidence that also defines the
// site's own state is kept under the guard and removed without it; one
// that only writes vendor globals or the snippets' own names is the
// vendor's.
func TestFirstPartyState(t *testing.T) {
	const load = `(function(){var s=document.createElement('script');s.src='//static.chartbeat.com/js/chartbeat.js';document.body.appendChild(s)})();`
	f := func(body string, kind FirstPartyKind, name string) {
		t.Helper()
		_, s := onlyScript(t, "<script>", body, guarded(t, true))
		if kind == 0 {
			if s.Decision != Removed || s.NumFirstParty != 0 {
				t.Errorf("%q: %v %v with %d first-party names, want removed with none", body, s.Decision, s.Reason, s.NumFirstParty)
			}
			return
		}
		if s.Decision != Kept || s.Reason != ReasonFirstParty || s.NumFirstParty == 0 || s.FirstParty[0].Kind != kind {
			t.Errorf("%q: %v %v (%d names), want kept for %v", body, s.Decision, s.Reason, s.NumFirstParty, kind)
			return
		}
		in := "<p>a</p><script>" + body
		if got := in[s.FirstParty[0].Start:s.FirstParty[0].End]; got != name {
			t.Errorf("%q: first-party name %q, want %q", body, got, name)
		}
		if _, s := onlyScript(t, "<script>", body, guarded(t, false)); s.Decision != Removed || s.Reason != ReasonNoGuard {
			t.Errorf("%q, guard off: %v %v, want removed (no guard)", body, s.Decision, s.Reason)
		}
	}
	f("var SITE = SITE || {};"+load, FirstPartyDeclare, "SITE")
	f("let cfg = {};"+load, FirstPartyDeclare, "cfg")
	f("const A = 1, B = 2;"+load, FirstPartyDeclare, "A")
	f("if (x) { var inBlock = 1; }"+load, FirstPartyDeclare, "inBlock")
	f("function initSite(){}"+load, FirstPartyDeclare, "initSite")
	f("async function boot(){}"+load, FirstPartyDeclare, "boot")
	f("class Widget {}"+load, FirstPartyDeclare, "Widget")
	f("SITE = {};"+load, FirstPartyAssign, "SITE")
	f("SITE.config.a = 1;"+load, FirstPartyAssign, "SITE")
	f("SITE['a'] = 1;"+load, FirstPartyAssign, "SITE")
	f("(function(){ window.SITE = {}; })();"+load, FirstPartyAssign, "SITE")
	f("(function(){ self.app.state = {}; })();"+load, FirstPartyAssign, "app")
	f(`(function(){ window["appState"] = 1; })();`+load, FirstPartyAssign, "appState")
	f("require.config({paths: {fb: '//connect.facebook.net/en_US/sdk'}});", FirstPartyConfig, "require")
	f("jQuery.extend(Drupal.settings, {a: 1});"+load, FirstPartyConfig, "jQuery")
	f("document.addEventListener('DOMContentLoaded', function(){ document.body.className = 'ready'; });"+load, FirstPartyHandler, "addEventListener")
	f("$(function(){ $('.menu').show(); });"+load, FirstPartyHandler, "$")
	f("$(document).ready(() => { $('.menu').show(); });"+load, FirstPartyHandler, "ready")
	// The vendor's own names and idioms.
	f("var _gaq = _gaq || []; _gaq.push(['_trackPageview']);"+load, 0, "")
	f("window.dataLayer = window.dataLayer || []; dataLayer.push({a: 1});"+load, 0, "")
	f("window._taboola = window._taboola || []; window._taboolaPageLabel = 'article';"+load, 0, "")
	f("(function(w,d,s,l){ w[l] = w[l] || []; var local = 1; localAlso = 2; })(window,document,'script','dataLayer');"+load, 0, "")
	f("for (var i = 0; i < 2; i++) {}"+load, 0, "")
	f("(function(){ var f = function local(){}; })();"+load, 0, "")
	f("x = function named(){};"[:0]+"!function named(){}();"+load, 0, "")
	f("window.onload = function(){ document.title = 'x'; };"+load, 0, "")
	f("window.XMLHttpRequest = wrap(window.XMLHttpRequest);"+load, 0, "")
	f("location.href = '/next';"+load, 0, "")
	f("googletag.cmd.push(function(){ googletag.pubads().addEventListener('slotRenderEnded', function(){ document.title = 'x'; }); });", 0, "")
	f("_taboola.push({article: 'auto'});"+load, 0, "")
	f("window.addEventListener('load', function(){ fbq('init', '1'); });", 0, "")
	f("var o = { run() { var inner = 1; }, x: function() { window.dataLayer = []; } };"[:0]+"(function(){ var o = { run() { inner = 1; } }; })();"+load, 0, "")
}

// TestScriptRecords checks the offsets and evidence of the records.
func TestScriptRecords(t *testing.T) {
	page := `<p>x</p><script id="boot" class="a b">var SITE = {}; SITE.cb = "//static.chartbeat.com/js/x.js";</script>` +
		`<script type="application/json">{"a":1}</script>` +
		`<script>fbq('init', '1');</script><script src="/app.js"></script><svg><script>1</script></svg>`
	p := guarded(t, true)
	p.Explain = true
	var out bytes.Buffer
	w := NewWriter(&out, p)
	for i := 0; i < len(page); i++ {
		w.Write([]byte{page[i]})
	}
	w.Close()
	ss := w.Scripts()
	if len(ss) != 4 {
		t.Fatalf("%d scripts, want 4 (the external one is not inline)", len(ss))
	}
	at := func(s Span) string {
		if s.Start < 0 {
			return "-"
		}
		return page[s.Start:s.End]
	}
	s := ss[0]
	if at(s.Tag) != `<script id="boot" class="a b">` || at(s.ID) != "boot" || at(s.Class) != "a b" || !strings.HasPrefix(at(s.Content), "var SITE") ||
		s.Decision != Kept || s.Reason != ReasonFirstParty || s.Vendor == nil || s.Vendor.ID != "chartbeat" ||
		s.Evidence != EvidenceURL || at(s.At) != `"//static.chartbeat.com/js/x.js"` || at(s.FirstParty[0].Span) != "SITE" || s.NumFirstParty != 2 {
		t.Errorf("first script: %+v", s)
	}
	if s := ss[1]; s.Decision != Data || s.Reason != ReasonDataType || at(s.Content) != `{"a":1}` {
		t.Errorf("data script: %+v", s)
	}
	if s := ss[2]; s.Decision != Removed || s.Reason != ReasonLoader || s.Evidence != EvidenceSignature || at(s.At) != `fbq('init'` || s.Vendor.Signatures[s.Signature] != `fbq('init'` {
		t.Errorf("snippet: %+v (at %q)", s, at(s.At))
	}
	if s := ss[3]; !s.Foreign || s.Decision != Kept || at(s.Content) != "1" {
		t.Errorf("svg script: %+v", s)
	}
}

// TestKeepScripts: the site's keep_scripts keeps a script whatever it
// holds, with the guard or without.
func TestKeepScripts(t *testing.T) {
	body := `(function(){var s=document.createElement('script');s.src='//static.chartbeat.com/js/chartbeat.js';document.body.appendChild(s)})();`
	sum := sha256.Sum256([]byte(body))
	for _, tc := range []struct {
		entry, tag string
		kept       bool
	}{
		{`{id: site-boot}`, `<script id="site-boot">`, true},
		{`{id: site-boot}`, `<script id="site-boot2">`, false},
		{`{id: "a&b"}`, `<script id="a&amp;b">`, true},
		{`{class: keep}`, `<script class="x keep y">`, true},
		{`{class: keep}`, `<script class="keeper">`, false},
		{`{sha256: ` + hex.EncodeToString(sum[:]) + `}`, `<script>`, true},
		{`{sha256: ` + strings.ToUpper(hex.EncodeToString(sum[:])) + `}`, `<script>`, true},
		{`{sha256: ` + strings.Repeat("0", 64) + `}`, `<script>`, false},
	} {
		cfg, err := config.Parse([]byte("upstream: http://127.0.0.1:1\nsites:\n  - name: s\n    hosts: [\"*\"]\n    keep_scripts: ["+tc.entry+"]\n"), "keep.yaml")
		if err != nil {
			t.Fatal(err)
		}
		set, err := rules.Compile(cfg)
		if err != nil {
			t.Fatal(tc.entry, err)
		}
		for _, guard := range []bool{true, false} {
			p := Policy{Set: set, Site: set.Sites()[0], Deny: rules.DefaultDeny, Guard: guard}
			out, s := onlyScript(t, tc.tag, body, p)
			kept := strings.Contains(out, tc.tag+body)
			if kept != tc.kept || tc.kept && s.Reason != ReasonKeepScripts {
				t.Errorf("%s on %s, guard %v: kept %v (%v), want %v", tc.entry, tc.tag, guard, kept, s.Reason, tc.kept)
			}
		}
	}
}

// TestOversizeScript: a script longer than MaxScript is judged on its first
// MaxScript bytes; it is then removed or neutralised whole, or kept and
// streamed out unchanged: never cut.
func TestOversizeScript(t *testing.T) {
	filler := strings.Repeat("(function(a){return a+1})(2);\n", MaxScript/30+1000)
	loader := `(function(){var s=document.createElement('script');s.src='//static.chartbeat.com/js/chartbeat.js';document.body.appendChild(s)})();` + "\n"
	for _, tc := range []struct {
		name, body string
		guard      bool
		want       Decision
	}{
		{"loader first, guard off", loader + filler, false, Removed},
		{"loader first, guard on", loader + filler, true, Removed},
		{"loader past the bound", filler + loader, false, OversizeKept},
		{"first-party and loader, guard on", "var SITE = {};" + loader + filler, true, OversizeKept},
		{"first-party and loader, guard off", "var SITE = {};" + loader + filler, false, Removed},
		{"nothing", filler, false, OversizeKept},
	} {
		script := "<script>" + tc.body + "</script>"
		page := "<p>a</p>" + script + "<p>b</p>"
		p := guarded(t, tc.guard)
		var whole []byte
		rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
		w := NewWriter(nil, p)
		for run := range 4 {
			var cuts []int
			for c := 0; run > 0; {
				c += 1 + rng.IntN(256<<10)
				if c >= len(page) {
					break
				}
				cuts = append(cuts, c)
			}
			got := rewriteSplit(t, w, []byte(page), p, cuts)
			if run == 0 {
				whole = append([]byte(nil), got...)
			} else if !bytes.Equal(got, whole) {
				t.Fatalf("%s: split at %v: output differs from the whole page's\n%s", tc.name, cuts, firstDiff(got, whole))
			}
			s := w.Scripts()[0]
			if s.Decision != tc.want || s.Content.End != int64(len(page)-len("</script><p>b</p>")) {
				t.Errorf("%s: %v (content ends at %d), want %v", tc.name, s.Decision, s.Content.End, tc.want)
			}
			if st := w.Stats(); st.Oversize != 1 {
				t.Errorf("%s: Stats.Oversize %d, want 1", tc.name, st.Oversize)
			}
		}
		switch tc.want {
		case Removed:
			if string(whole) != "<p>a</p><p>b</p>" {
				t.Errorf("%s: output %.100q…, want the script removed whole", tc.name, whole)
			}
		default:
			if string(whole) != page {
				t.Errorf("%s: the script did not stream out unchanged\n%s", tc.name, firstDiff(whole, []byte(page)))
			}
		}
	}
}

// scriptFragments build random scripts for TestScriptWhole and
// FuzzScriptWhole: vendor hosts and signatures in strings, comments and
// code, first-party state, and the punctuation that makes a lexer guess.
var scriptFragments = []string{
	`var a = 1;`, `SITE.x = 2;`, `window.app = {};`, `(function(){`, `})();`, `{`, `}`, `(`, `)`, `[`, `]`,
	`"//connect.facebook.net/en_US/fbevents.js"`, `'https://www.googletagmanager.com/gtm.js?id=1'`,
	`".quantserve.com/quant.js"`, `"https:\/\/cdn.taboola.com\/libtrc\/x.js"`, "`//static.chartbeat.com/${x}`",
	`googletag.pubads()`, `fbq('init', '1');`, `'gtm.start'`, `// https://www.google-analytics.com/analytics.js` + "\n",
	`/* googletag.pubads() */`, `/connect\.facebook\.net/g`, `a / b / c`, `x = /re/.test(y);`, `"it's"`, `'say "hi"'`,
	"`tmpl ${ {a: 1}.a } end`", `<!-- hidden` + "\n", `--> gone` + "\n", `"</scr" + "ipt>"`, `\u0066bq('init')`,
	`document.write('<scr' + 'ipt src="//www.googletagservices.com/tag/js/gpt.js"></scr' + 'ipt>');`,
	"\n", " ", `;`, `,`, `=`, `+`, `"`, `'`, "`", `/`, `\`, `$(function(){ $('.x').hide(); });`,
}

// randomScript returns a script of n fragments chosen by rng.
func randomScript(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(scriptFragments[rng.IntN(len(scriptFragments))])
	}
	// A script never holds its own end tag.
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "</script", "<\\/script"), "<!--", "<!- -")
}

// scriptWhole checks the property: the script element of page comes out
// as it went in, or not at all, or neutralised with its content unchanged.
func scriptWhole(t *testing.T, body string, p Policy, neutralise bool) {
	t.Helper()
	script := "<script>" + body + "</script>"
	page := "<p>a</p>" + script + "<p>b</p>"
	out, _ := rewriteString(t, page, p)
	rest, ok := strings.CutPrefix(out, "<p>a</p>")
	if ok {
		rest, ok = strings.CutSuffix(rest, "<p>b</p>")
	}
	switch {
	case !ok:
		t.Fatalf("the markup around the script changed: %q", out)
	case rest == script, rest == "":
	case neutralise && strings.HasPrefix(rest, `<script type="text/plain" data-consent-category="`) && strings.HasSuffix(rest, `">`+body+"</script>"):
	default:
		t.Fatalf("the script came out in a third form\n in: %q\nout: %q", script, rest)
	}
}

// TestScriptWhole checks on random scripts that a script is kept, removed
// or neutralised whole, never edited.
func TestScriptWhole(t *testing.T) {
	_, ns := sets(t)
	rng := rand.New(rand.NewPCG(19, 12))
	n := 1000
	if testing.Short() {
		n = 200
	}
	for range n {
		body := randomScript(rng, 1+rng.IntN(40))
		for _, guard := range []bool{true, false} {
			scriptWhole(t, body, guarded(t, guard), false)
			scriptWhole(t, body, Policy{Set: ns, Site: ns.Sites()[0], Deny: rules.DefaultDeny, Guard: guard}, true)
		}
	}
}

// FuzzScriptWhole is TestScriptWhole with fuzzed scripts.
func FuzzScriptWhole(f *testing.F) {
	for _, tc := range loaders {
		f.Add(tc.body, false)
	}
	for _, tc := range mentions {
		f.Add(tc.body, true)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		f.Add(randomScript(rng, 30), rng.IntN(2) == 0)
	}
	_, ns := sets(f)
	f.Fuzz(func(t *testing.T, body string, guard bool) {
		if len(body) > 1<<16 || strings.Contains(strings.ToLower(body), "</script") || strings.Contains(body, "<!--") {
			return // ends the element, or opens the escaped states: another test's business
		}
		scriptWhole(t, body, guarded(t, guard), false)
		scriptWhole(t, body, Policy{Set: ns, Site: ns.Sites()[0], Deny: rules.DefaultDeny, Guard: guard}, true)
	})
}

// TestScriptAllocs: once warm, a Writer judges a page with a large inline
// script without allocating: the held buffer comes from a pool and goes
// back.
func TestScriptAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	// No URL in it: host lookups (rules.Set.Classify) fill caches of
	// their own, which TestAllocs accounts for.
	page := []byte("<p>a</p><script>var SITE = {};" + strings.Repeat(`SITE.f = function(a){ return "/js/" + a + 'gtm-star' + /re/.test(a); };`, 5000) + "</script><p>b</p>")
	p := guarded(t, false)
	w := NewWriter(io.Discard, p)
	run := func() {
		w.Reset(io.Discard, p)
		for i := 0; i < len(page); i += 16 << 10 {
			w.Write(page[i:min(len(page), i+16<<10)])
		}
		w.Close()
	}
	run()
	if n := testing.AllocsPerRun(20, run); n > 0 {
		t.Errorf("a page with a %d KB inline script allocates %v times per run, want 0", len(page)>>10, n)
	}
}

// TestScriptsBounded: a page of any number of inline scripts is judged
// whole, and the records a Writer keeps stay bounded (MaxScripts; a pooled
// Writer drops a large slice at Reset).
func TestScriptsBounded(t *testing.T) {
	var b strings.Builder
	for range MaxScripts + 10 {
		b.WriteString("<script>var x = 1;</script>")
	}
	b.WriteString("<script>fbq('init', '1');</script>")
	w := NewWriter(io.Discard, guarded(t, true))
	w.Write([]byte(b.String()))
	w.Close()
	if n, u := len(w.Scripts()), w.Stats().UnrecordedScripts; n != MaxScripts || u != 11 {
		t.Errorf("%d scripts recorded, %d unrecorded; want %d and 11", n, u, MaxScripts)
	}
	if rm := w.Removed(); len(rm) != 1 || rm[0].Vendor.ID != "meta-pixel" {
		t.Errorf("the script past the bound was not judged: %+v", rm)
	}
	w.Reset(io.Discard, guarded(t, true))
	if c := cap(w.Scripts()); c > 64 {
		t.Errorf("after Reset the Writer keeps room for %d records", c)
	}
}
