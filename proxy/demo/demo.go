// Package demo is the built-in demo marketing site of "consentgate demo": a
// home, product and pricing page written like a real marketing site, with the
// trackers such sites ship (Google Tag Manager, Google Analytics 4, the Meta
// pixel, LinkedIn Insight, Hotjar, a YouTube embed, a noscript pixel, a
// preconnect to a tracker) and responses that set both first-party and
// tracking cookies. It is embedded in the binary and used by the end-to-end
// tests.
package demo

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed site
var site embed.FS

// Config is the consentgate configuration of the demo (consentgate.yaml):
// the default policy with placeholders for removed embeds and the notice
// for visitors whose opt-out came from Global Privacy Control. It names no
// upstream: the caller gives the demo site's address.
//
//go:embed consentgate.yaml
var Config []byte

// Pages are the HTML pages of the site, by path.
var Pages = map[string]string{"/": "index.html", "/product": "product.html", "/pricing": "pricing.html"}

// TrackingCookies are the cookie names the site's pages set that belong to
// catalogue vendors; FirstPartyCookies are the site's own.
var (
	TrackingCookies   = []string{"_ga", "_ga_NW4DEMO01", "_fbp", "_gcl_au"}
	FirstPartyCookies = []string{"nw_session", "nw_cart"}
)

// Page returns the raw bytes of a page or asset of the site.
func Page(p string) ([]byte, error) {
	if f, ok := Pages[p]; ok {
		p = f
	}
	return fs.ReadFile(site, path.Join("site", strings.TrimPrefix(p, "/")))
}

// Handler serves the demo site.
func Handler(ctx *fasthttp.RequestCtx) {
	p := string(ctx.Path())
	file, page := Pages[p]
	if !page {
		if !strings.HasPrefix(p, "/assets/") || strings.Contains(p, "..") {
			notFound(ctx, p)
			return
		}
		file = p[1:]
	}
	b, err := fs.ReadFile(site, "site/"+file)
	if err != nil {
		notFound(ctx, p)
		return
	}
	h := &ctx.Response.Header
	switch path.Ext(file) {
	case ".html":
		h.SetContentType("text/html; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=60")
		h.Set("ETag", `"demo-`+strings.TrimSuffix(file, ".html")+`-v1"`)
		// What a typical marketing site's responses set: a session and a cart
		// cookie of its own, and cookies that tag scripts or a server-side
		// tag manager set for the trackers.
		h.Add("Set-Cookie", "nw_session=s3ss10n; Path=/; HttpOnly; SameSite=Lax")
		h.Add("Set-Cookie", "nw_cart=0; Path=/; Max-Age=86400; SameSite=Lax")
		h.Add("Set-Cookie", "_ga=GA1.1.1234567890.1764150000; Path=/; Max-Age=63072000; SameSite=Lax")
		h.Add("Set-Cookie", "_ga_NW4DEMO01=GS1.1.1764150000.1.0.1764150000.0.0.0; Path=/; Max-Age=63072000; SameSite=Lax")
		h.Add("Set-Cookie", "_fbp=fb.1.1764150000000.1122334455; Path=/; Max-Age=7776000; SameSite=Lax")
		h.Add("Set-Cookie", "_gcl_au=1.1.998877665.1764150000; Path=/; Max-Age=7776000; SameSite=Lax")
		h.Add("Link", "<https://www.googletagmanager.com>; rel=preconnect, </assets/site.css>; rel=preload; as=style")
	case ".css":
		h.SetContentType("text/css; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
	case ".js":
		h.SetContentType("text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
	case ".svg":
		h.SetContentType("image/svg+xml")
		h.Set("Cache-Control", "public, max-age=3600")
	}
	ctx.SetBody(b)
}

func notFound(ctx *fasthttp.RequestCtx, p string) {
	ctx.SetStatusCode(fasthttp.StatusNotFound)
	ctx.Response.Header.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString("<!DOCTYPE html><title>Not found</title><h1>Not found</h1><p><a href=\"/\">Northwind home</a></p>\n")
}
