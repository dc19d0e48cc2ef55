package browsertest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/valyala/fasthttp"
)

// tourURL is the iframe of the demo home page's YouTube tour.
const tourURL = "https://www.youtube.com/embed/dQw4w9WgXcQ"

// youtubeHosts are the hosts of the youtube vendor of the catalogue.
var youtubeHosts = []string{"youtube.com", "ytimg.com", "youtube-nocookie.com", "googlevideo.com"}

func isYouTube(raw string) bool {
	for _, h := range youtubeHosts {
		if strings.Contains(raw, "://"+h) || strings.Contains(raw, "."+h) || raw == h || strings.HasSuffix(raw, "."+h) {
			return true
		}
	}
	return false
}

// startDemoSite is the demo site behind consentgate with the demo's own
// config (proxy/demo/consentgate.yaml: placeholders and the GPC notice
// on). h serves the site; a request with ?csp=1 gets the page under a CSP
// that refuses inline styles and scripts without a hash.
func startDemoSite(t *testing.T) *site {
	t.Helper()
	up := serve(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/amp":
			ctx.SetContentType("text/html; charset=utf-8")
			ctx.SetBodyString(ampPage)
			return
		case "/amp-youtube.js":
			ctx.SetContentType("text/javascript")
			ctx.SetBodyString(ampYouTubeJS)
			return
		}
		demo.Handler(ctx)
		if string(ctx.QueryArgs().Peek("csp")) == "1" {
			ctx.Response.Header.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; frame-src https://www.youtube.com")
		}
	})
	cfg, err := config.Parse(demo.Config, "consentgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Upstream = "http://" + up
	set, err := rules.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startProxy(t, set)
	return s
}

// youtubeSeen returns the requests and the connections to YouTube hosts.
func youtubeSeen(b *browser, urls []string) (reqs, conns []string) {
	for _, u := range urls {
		if isYouTube(u) {
			reqs = append(reqs, u)
		}
	}
	for _, h := range b.sink.Hosts() {
		if isYouTube(h) {
			conns = append(conns, h)
		}
	}
	return reqs, conns
}

type rect struct{ X, Y, W, H float64 }

// box returns the bounding box of the first element matching sel, or a
// zero rect when there is none.
func box(t *testing.T, ctx context.Context, sel string) rect {
	t.Helper()
	var r rect
	js := `(function(){var e=document.querySelector(` + jsString(sel) + `);if(!e)return {X:0,Y:0,W:0,H:0};var b=e.getBoundingClientRect();return {X:b.x,Y:b.y,W:b.width,H:b.height}})()`
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &r)); err != nil {
		t.Fatalf("measuring %s: %v", sel, err)
	}
	return r
}

func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// click clicks the element sel as a person would: chromedp scrolls it
// into view and sends Input.dispatchMouseEvent at its centre, a click the
// page sees as trusted.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Click(sel, chromedp.ByQuery, chromedp.NodeVisible)); err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
}

// clickAndWait clicks the link sel (a trusted click) and waits until the
// document it leads to has loaded.
func clickAndWait(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.__cgBefore = true`, nil)); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, sel)
	for {
		var done bool
		err := chromedp.Run(ctx, chromedp.Evaluate(`window.__cgBefore === undefined && document.readyState === "complete"`, &done))
		if err == nil && done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after clicking %s no new page loaded (last error: %v)", sel, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// saveScreenshot keeps a PNG of the viewport (sel "") or of the element
// sel under CONSENTGATE_SCREENSHOTS, when set.
func saveScreenshot(t *testing.T, ctx context.Context, name, sel string) {
	t.Helper()
	var shot []byte
	act := chromedp.CaptureScreenshot(&shot)
	if sel != "" {
		act = chromedp.Screenshot(sel, &shot, chromedp.ByQuery)
	}
	if err := chromedp.Run(ctx, act); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("CONSENTGATE_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", file, len(shot))
}

func evalBool(t *testing.T, ctx context.Context, js string) bool {
	t.Helper()
	var b bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &b)); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return b
}

// TestPlaceholderLoadsTheTourOnClick: the demo home page for a visitor
// with Sec-GPC: 1 shows a placeholder of the tour's size where the YouTube
// iframe was, and the browser contacts no YouTube host. Page script cannot
// load it: the guard's API with an untrusted event, a synthetic click, a
// look-alike event object, and a placeholder that script builds (clicked
// for real) all leave YouTube uncontacted. A trusted click on the button
// (Input.dispatchMouseEvent) restores the iframe: exactly the tour's URL
// is requested, and other YouTube loads stay refused. Then the same under
// a CSP that refuses inline styles (the guard inlined with its hash).
func TestPlaceholderLoadsTheTourOnClick(t *testing.T) {
	s := startDemoSite(t)
	for _, page := range []string{"/", "/?csp=1"} {
		t.Run(page, func(t *testing.T) {
			// A browser (and sink) per page: the tour the first page loads
			// must not be seen as the second page's. Its request and
			// Chromium's retried connections to the sink can arrive after
			// the first page is done with.
			b := launch(t)
			tab, r := b.tab(t, network.Headers{"Sec-GPC": "1"})
			ctx, cancel := context.WithTimeout(tab, testTimeout)
			defer cancel()
			urls, exceptions := visit(t, ctx, r, s.url+page)
			if reqs, conns := youtubeSeen(b, urls); len(reqs)+len(conns) > 0 {
				t.Fatalf("before any click the browser contacted YouTube: requests %q, connections %q", reqs, conns)
			}
			ph := box(t, ctx, ".consentgate-placeholder")
			if math.Abs(ph.W-560) > 1 || math.Abs(ph.H-315) > 1 {
				t.Errorf("placeholder is %.0f×%.0f, want the iframe's 560×315", ph.W, ph.H)
			}
			var text string
			if err := chromedp.Run(ctx, chromedp.Text(".consentgate-placeholder", &text, chromedp.ByQuery)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text, "You opted out of the sale and sharing of your personal information (Global Privacy Control). Loading this YouTube video shares data with Google.") ||
				!strings.Contains(text, "Load video") {
				t.Errorf("placeholder text: %q", text)
			}
			if !evalBool(t, ctx, `!document.querySelector('meta[name="consentgate-key"]') && !document.querySelector('[data-consentgate-key]')`) {
				t.Error("the key is still in the page for its scripts to read")
			}
			if page == "/" {
				saveScreenshot(t, ctx, "placeholder.png", "section.video")
			}

			// Page script tries: none may load anything.
			r.take()
			for _, js := range []string{
				`__consentgate.load(new MouseEvent("click", {bubbles: true}))`,
				`(function(){var b=document.querySelector("[data-consentgate-load]");b.click();b.dispatchEvent(new MouseEvent("click",{bubbles:true}));return true})()`,
				`__consentgate.load({isTrusted: true, type: "click", target: document.querySelector("[data-consentgate-load]")})`,
				`(function(){var e=new MouseEvent("click");Object.defineProperty(e,"target",{value:document.querySelector("[data-consentgate-load]")});return __consentgate.load(e)})()`,
				`(function(){var f=document.createElement("span");f.className="consentgate-placeholder";f.setAttribute("data-consentgate-embed","youtube");` +
					`f.innerHTML='<template data-consentgate-original><iframe src="https://www.youtube.com/embed/forged" width="400" height="300"></iframe><img src="https://i.ytimg.com/vi/x/0.jpg"></template><span>x</span><button id="forged" type="button" data-consentgate-load data-consentgate-key="00000000000000000000000000000000" style="width:200px;height:60px">Load</button>';` +
					`document.body.prepend(f);return true})()`,
			} {
				var res any
				if err := chromedp.Run(ctx, chromedp.Evaluate(js, &res)); err != nil {
					t.Fatalf("page script %s: %v", js, err)
				}
				if res == true && strings.Contains(js, "__consentgate.load") {
					t.Errorf("the guard's load API said yes to %s", js)
				}
			}
			click(t, ctx, "#forged") // a person clicks a placeholder made by script
			r.settle(ctx)
			urls, _ = r.take()
			if reqs, conns := youtubeSeen(b, urls); len(reqs)+len(conns) > 0 {
				t.Fatalf("page script got YouTube contacted: requests %q, connections %q", reqs, conns)
			}
			if !evalBool(t, ctx, `document.querySelectorAll(".consentgate-placeholder").length === 2 && !document.querySelector("iframe[src*=youtube]")`) {
				t.Fatal("a placeholder was restored without a trusted click on its own button")
			}

			// A person clicks the button.
			click(t, ctx, "[data-consentgate-load]:not(#forged)")
			r.waitFor(ctx, isYouTube)
			r.settle(ctx)
			urls, exc := r.take()
			exceptions = append(exceptions, exc...)
			reqs, conns := youtubeSeen(b, urls)
			if len(reqs) == 0 {
				t.Fatalf("after the click the tour was not requested; requests: %q", urls)
			}
			for _, u := range reqs {
				if u != tourURL {
					t.Errorf("after the click, %s was requested; only %s may be", u, tourURL)
				}
			}
			for _, h := range conns {
				if h != "www.youtube.com" {
					t.Errorf("after the click, a connection to %s", h)
				}
			}
			if !evalBool(t, ctx, `(function(){var f=document.querySelector("section.video iframe");return !!f&&f.src==="`+tourURL+`"&&f.getAttribute("title")==="Northwind product tour"&&document.querySelectorAll(".consentgate-placeholder").length===1})()`) {
				t.Error("the tour's iframe is not back in the page as the site wrote it")
			}
			// The allowance is that frame: the vendor's other loads stay refused.
			if err := chromedp.Run(ctx, chromedp.Evaluate(`(function(){
				var s=document.createElement("script");s.src="https://www.youtube.com/iframe_api";document.head.appendChild(s);
				var i=new Image();i.src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg";
				var f=document.createElement("iframe");f.src="https://www.youtube.com/embed/another";document.body.appendChild(f);
				fetch("`+tourURL+`").catch(function(){});
				return true})()`, nil)); err != nil {
				t.Fatal(err)
			}
			r.settle(ctx)
			urls, _ = r.take()
			if reqs, _ := youtubeSeen(b, urls); len(reqs) > 0 {
				t.Errorf("after the click, page script reached YouTube: %q", reqs)
			}
			if len(exceptions) > 0 {
				t.Errorf("the page threw:\n  %s", strings.Join(exceptions, "\n  "))
			}
		})
	}
}

// ampPage has an AMP YouTube component, and ampYouTubeJS is a first-party
// stand-in for the AMP runtime's amp-youtube (the real one is on
// cdn.ampproject.org, which no test reaches): connected, it builds the
// player's iframe from data-videoid, as the runtime does.
const (
	ampPage = `<!doctype html><html><head><meta charset="utf-8"><title>AMP tour</title>
<script src="/amp-youtube.js"></script></head><body><h1>AMP tour</h1>
<amp-youtube data-videoid="amp1" layout="responsive" width="480" height="270"><div fallback>No video.</div></amp-youtube>
</body></html>`
	ampYouTubeJS = `customElements.define("amp-youtube", class extends HTMLElement {
  connectedCallback() {
    var f = document.createElement("iframe");
    f.setAttribute("frameborder", "0");
    f.src = "https://www.youtube.com/embed/" + this.getAttribute("data-videoid") + "?enablejsapi=1";
    this.appendChild(f);
  }
});`
)

// TestPlaceholderAMPComponent: an AMP embed component stands as a
// placeholder too (inert: its element is not upgraded in the template, no
// YouTube request); a trusted click restores it, and the frame its runtime
// builds is let through.
func TestPlaceholderAMPComponent(t *testing.T) {
	s := startDemoSite(t)
	b := launch(t)
	tab, r := b.tab(t, network.Headers{"Sec-GPC": "1"})
	ctx, cancel := context.WithTimeout(tab, testTimeout)
	defer cancel()
	urls, exceptions := visit(t, ctx, r, s.url+"/amp")
	if reqs, conns := youtubeSeen(b, urls); len(reqs)+len(conns) > 0 {
		t.Fatalf("before the click: requests %q, connections %q", reqs, conns)
	}
	ph := box(t, ctx, ".consentgate-placeholder")
	if ph.W < 400 || math.Abs(ph.H-ph.W*270/480) > 2 {
		t.Errorf("placeholder is %.0f×%.0f, want the container's width at 480:270", ph.W, ph.H)
	}
	click(t, ctx, "[data-consentgate-load]")
	r.waitFor(ctx, isYouTube)
	r.settle(ctx)
	urls, exc := r.take()
	reqs, _ := youtubeSeen(b, urls)
	if len(reqs) != 1 || reqs[0] != "https://www.youtube.com/embed/amp1?enablejsapi=1" {
		t.Errorf("after the click: YouTube requests %q, want the component's frame alone", reqs)
	}
	if !evalBool(t, ctx, `!!document.querySelector("amp-youtube > iframe") && !document.querySelector(".consentgate-placeholder")`) {
		t.Error("the component is not back with its frame")
	}
	if exceptions = append(exceptions, exc...); len(exceptions) > 0 {
		t.Errorf("the page threw:\n  %s", strings.Join(exceptions, "\n  "))
	}
}

// TestGPCNoticeInBrowser: a GPC visitor sees the notice, small and fixed to
// the corner (out of the page's flow), and dismisses it with a click: it
// goes at once, and the next page has none. A visitor opted out by the
// cookie alone sees none.
func TestGPCNoticeInBrowser(t *testing.T) {
	s := startDemoSite(t)
	b := launch(t)
	tab, r := b.tab(t, network.Headers{"Sec-GPC": "1"})
	ctx, cancel := context.WithTimeout(tab, testTimeout)
	defer cancel()
	visit(t, ctx, r, s.url+"/pricing")
	n := box(t, ctx, ".consentgate-notice")
	var vh float64
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.innerHeight`, &vh)); err != nil {
		t.Fatal(err)
	}
	if n.W == 0 || n.H == 0 || n.H > 60 || n.W > 400 || n.X > 20 || math.Abs(n.Y+n.H+12-vh) > 1 {
		t.Errorf("notice at %+v: want a small box in the bottom left corner of the window (height %.0f)", n, vh)
	}
	if !evalBool(t, ctx, `getComputedStyle(document.querySelector(".consentgate-notice")).position === "fixed" && document.querySelector(".consentgate-notice").textContent.indexOf("Opt-out preference signal honored") === 0`) {
		t.Error("the notice is not fixed, or has not its text")
	}
	saveScreenshot(t, ctx, "gpc-notice.png", "")
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.__cgStay = true`, nil)); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, ".consentgate-notice-dismiss")
	time.Sleep(200 * time.Millisecond)
	if !evalBool(t, ctx, `window.__cgStay === true && !document.querySelector(".consentgate-notice") && document.cookie.indexOf("consentgate_notice=0") >= 0`) {
		t.Error("dismissing did not remove the notice in place and remember it")
	}
	visit(t, ctx, r, s.url+"/")
	if evalBool(t, ctx, `!!document.querySelector(".consentgate-notice")`) {
		t.Error("the notice is back after it was dismissed")
	}

	b2 := launch(t)
	tab2, r2 := b2.tab(t, network.Headers{"Cookie": "consentgate_optout=1"})
	ctx2, cancel2 := context.WithTimeout(tab2, testTimeout)
	defer cancel2()
	visit(t, ctx2, r2, s.url+"/pricing")
	if evalBool(t, ctx2, `!!document.querySelector(".consentgate-notice")`) {
		t.Error("a visitor opted out by the cookie, not GPC, sees the notice")
	}
	if !evalBool(t, ctx2, `!!document.querySelector(".consentgate-placeholder") || location.pathname === "/pricing"`) {
		t.Error("the page did not load")
	}
}
