package browsertest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/valyala/fasthttp"
)

// urlForms are ways to write a tracker's URL in a page that the rewriter
// reads as the browser's URL parser does (urlhost.Find, proxy/rewrite
// clean), and CSS that loads a URL (proxy/rewrite css.go). Each loads
// https://www.facebook.com/tr?case=NAME, in an img unless the markup says
// otherwise.
var urlForms = []struct{ name, markup string }{
	{"plain", `<img src="https://www.facebook.com/tr?case=plain">`},
	{"json-slashes", `<img src="https:\/\/www.facebook.com/tr?case=json-slashes">`},
	{"no-slashes", `<img src="https:www.facebook.com/tr?case=no-slashes">`},
	{"three-slashes", `<img src="///www.facebook.com/tr?case=three-slashes">`},
	{"slash-backslash", `<img src="/\www.facebook.com/tr?case=slash-backslash">`},
	{"leading-control", `<img src="&#1;https://www.facebook.com/tr?case=leading-control">`},
	{"tab-inside", "<img src=\"ht\ttps://www.face\nbook.com/tr?case=tab-inside\">"},
	{"ideographic-dots", `<img src="https://www。facebook。com/tr?case=ideographic-dots">`},
	{"fullwidth", `<img src="https://ｗｗｗ.ｆａｃｅｂｏｏｋ.com/tr?case=fullwidth">`},
	{"soft-hyphen", `<img src="https://www.face&shy;book.com/tr?case=soft-hyphen">`},
	{"double-struck", `<img src="https://www.&fopf;acebook.com/tr?case=double-struck">`},
	{"percent-ascii", `<img src="https://www%2Efacebook%2Ecom/tr?case=percent-ascii">`},
	{"percent-utf8", `<img src="https://www%E3%80%82facebook.com/tr?case=percent-utf8">`},
	{"entities", `<img src="https&colon;&sol;&sol;www&period;facebook&period;com/tr?case=entities">`},
	{"srcdoc", `<iframe srcdoc="&lt;img src=&quot;https://www.facebook.com/tr?case=srcdoc&quot;&gt;"></iframe>`},
	{"css-url", `<style>.css-url{background-image:url(https://www.facebook.com/tr?case=css-url)}</style><div class="css-url" style="width:4px;height:4px"></div>`},
	{"css-escaped", `<style>.css-escaped{background:URL( "https\3a\2f\2fwww.facebook.com/tr?case=css-escaped" )}</style><div class="css-escaped" style="width:4px;height:4px"></div>`},
	{"css-image-set", `<style>.css-image-set{background-image:image-set("https://www.facebook.com/tr?case=css-image-set" 1x)}</style><div class="css-image-set" style="width:4px;height:4px"></div>`},
	{"css-style-attr", `<div style="width:4px;height:4px;background-image:url(https://www.facebook.com/tr?case=css-style-attr)"></div>`},
	{"css-style-attr-ref", `<div style="width:4px;height:4px;background:url(&quot;https:&#x2F;&#x2F;www.facebook.com/tr?case=css-style-attr-ref&quot;)"></div>`},
	{"css-import", `<style>@import url("https://www.facebook.com/tr?case=css-import"); p{margin:0}</style>`},
	{"srcdoc-nested", `<iframe srcdoc="<iframe srcdoc='&amp;lt;img src=https://www.facebook.com/tr?case=srcdoc-nested&amp;gt;'></iframe>"></iframe>`},
	// Last: from here on, relative URLs resolve against the base.
	{"base-href", `<base href="https://www.facebook.com/"><img src="tr?case=base-href">`},
}

// urlFormsPage is a page with every form, and first-party content.
func urlFormsPage(ctx *fasthttp.RequestCtx) {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=\"utf-8\"><title>Northwind URL forms</title></head><body>\n")
	for _, f := range urlForms {
		fmt.Fprintf(&b, "<p>%s</p>%s\n", f.name, f.markup)
	}
	b.WriteString(`<p id="do-not-sell">first-party content</p></body></html>`)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(b.String())
}

// casesRequested returns the urlForms cases that urls requested from a
// denied vendor.
func (s *site) casesRequested(urls []string) map[string]bool {
	got := map[string]bool{}
	for _, u := range s.trackerRequests(urls) {
		if p, err := url.Parse(u); err == nil {
			if c := p.Query().Get("case"); c != "" {
				got[c] = true
			}
		}
	}
	return got
}

// TestURLFormsAsChromiumReadsThem checks the rewriter's model of the URL
// parser against the browser's: without a signal, Chromium requests the
// tracker for every form (so each is a real way to load it, not a guess);
// with Sec-GPC: 1, it requests none, and the page still renders.
func TestURLFormsAsChromiumReadsThem(t *testing.T) {
	s := startSiteWith(t, urlFormsPage)
	b := launch(t)

	tab, r := b.tab(t, nil)
	urls, _ := visit(t, tab, r, s.url+"/")
	loaded := s.casesRequested(urls)
	for _, f := range urlForms {
		if !loaded[f.name] {
			t.Errorf("without a signal Chromium did not request the %s form (%s): the check below would pass vacuously for it", f.name, f.markup)
		}
	}
	t.Logf("without a signal: Chromium requested %d of %d forms", len(loaded), len(urlForms))

	gtab, gr := b.tab(t, network.Headers{"Sec-GPC": "1"})
	urls, exceptions := visit(t, gtab, gr, s.url+"/")
	for c := range s.casesRequested(urls) {
		t.Errorf("with Sec-GPC: 1 Chromium still requested the %s form", c)
	}
	leaks := s.trackerRequests(urls)
	if len(leaks) > 0 {
		t.Errorf("with Sec-GPC: 1: %d requests to denied vendors:\n  %s", len(leaks), strings.Join(leaks, "\n  "))
	}
	if len(exceptions) > 0 {
		t.Errorf("with Sec-GPC: 1 the page threw: %s", strings.Join(exceptions, "; "))
	}
	var present bool
	if err := chromedp.Run(gtab, chromedp.Evaluate(`document.getElementById("do-not-sell") !== null`, &present)); err != nil || !present {
		t.Errorf("with Sec-GPC: 1 the first-party content is missing (%v)", err)
	}
	t.Logf("with Sec-GPC: 1: %d requests, %d to denied vendors", len(urls), len(leaks))
}
