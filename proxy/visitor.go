package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"html"
	"net/url"
	"strings"

	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// What an opted-out visitor sees of consentgate itself: the placeholders of
// removed embeds (proxy/rewrite, proxy/guard), the confirmation page of the
// opt-out endpoint, and the notice for visitors whose opt-out came from
// Global Privacy Control. Each is a per-site option (rules.Site); none
// touches a response to a visitor without a signal.

// noticeCookie remembers that the visitor dismissed the GPC notice; the
// runtime guard sets the same when the notice's link is clicked.
const noticeCookie = "consentgate_notice"

// noticePath is the built-in path, under a site's prefix, that dismisses
// the GPC notice without JavaScript.
const noticePath = "notice"

// placeholderReason is the first sentence of a placeholder: why the embed
// is not loaded, after the strongest source of the visitor's denial.
func placeholderReason(src signals.Source) string {
	switch {
	case src&signals.GPC != 0:
		return "You opted out of the sale and sharing of your personal information (Global Privacy Control)."
	case src&signals.OptOutCookie != 0:
		return "You opted out of the sale and sharing of your personal information on this site."
	case src&signals.Registry != 0:
		return "You opted out of the sale and sharing of your personal information for your account."
	case src&(signals.USP|signals.GPP|signals.TCF|signals.CMP) != 0:
		return "Your privacy choices on this site do not allow it."
	case src&signals.DNT != 0:
		return "Your browser asks sites not to track you (Do Not Track)."
	case src&signals.Region != 0:
		return "Content from other companies loads only with your consent."
	}
	return "Your privacy choices do not allow it."
}

// placeholderKey returns a new random key for the placeholders of one
// response (see rewrite.Placeholders.Key).
func placeholderKey() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// keyMeta is the element that hands the placeholders' key to the runtime
// guard: it must come right before the guard's script element.
func keyMeta(key string) []byte {
	return []byte(`<meta name="consentgate-key" content="` + key + `">`)
}

// visitorPolicy adds to pol, the rewriting policy of an opted-out page,
// what the site shows the visitor: placeholders (with the guard, a key in
// the head before it) and the GPC notice.
func visitorPolicy(ctx *fasthttp.RequestCtx, e *enforcer, pol *rewrite.Policy) {
	site := e.site
	if site.Placeholders {
		ph := &rewrite.Placeholders{Reason: placeholderReason(e.sources), Text: site.PlaceholderText, Button: site.PlaceholderButton}
		if pol.Guard {
			ph.Key = placeholderKey()
			pol.Head = append(keyMeta(ph.Key), pol.Head...)
		}
		pol.Placeholders = ph
	}
	if site.GPCNotice && e.sources&signals.GPC != 0 {
		// Only navigations get the notice: a browser must not answer a
		// script's fetch of the same URL with a cached page that has it.
		addVary(&ctx.Response.Header, "Sec-Fetch-Dest")
		if wantsNotice(&ctx.Request.Header) {
			pol.Tail = gpcNotice(site, ctx)
		}
	}
}

// wantsNotice reports whether the request is a navigation to a page
// (Sec-Fetch-Dest: document: not a fragment fetched by script, not a
// frame) by a visitor who has not dismissed the notice.
func wantsNotice(h *fasthttp.RequestHeader) bool {
	return bytes.Equal(h.Peek("Sec-Fetch-Dest"), []byte("document")) && len(h.Cookie(noticeCookie)) == 0
}

// DefaultGPCNotice is the notice's text when the site gives none: the
// example of Cal. Code Regs. tit. 11, §7025(c)(6).
const DefaultGPCNotice = "Opt-out preference signal honored"

// gpcNotice returns the notice's markup, appended after the page's last
// byte: small, fixed to the bottom left corner (so the site's own layout
// does not move), white on dark slate (contrast 14:1), a complementary
// landmark with a name, and a link that dismisses it (the guard does so in
// place; without JavaScript the link's endpoint sets the cookie and comes
// back).
func gpcNotice(site *rules.Site, ctx *fasthttp.RequestCtx) []byte {
	text := site.GPCNoticeText
	if text == "" {
		text = DefaultGPCNotice
	}
	back := safeReturn(ctx.RequestURI())
	if back == "" {
		back = "/"
	}
	href := site.Prefix + noticePath + "?return=" + url.QueryEscape(back)
	var b strings.Builder
	b.WriteString(`<aside class="consentgate-notice" aria-label="Privacy signal" style="position:fixed;left:12px;bottom:12px;z-index:2147483647;box-sizing:border-box;max-width:calc(100vw - 24px);margin:0;padding:8px 10px 8px 14px;display:flex;align-items:center;gap:12px;background:#1d2939;color:#fff;font:13px/1.4 system-ui,sans-serif;text-align:left;border-radius:6px;box-shadow:0 2px 8px rgba(0,0,0,.3)">`)
	b.WriteString(`<span class="consentgate-notice-text">`)
	b.WriteString(html.EscapeString(text))
	b.WriteString(`</span><a class="consentgate-notice-dismiss" href="`)
	b.WriteString(html.EscapeString(href))
	b.WriteString(`" aria-label="Dismiss this notice" style="color:#fff;text-decoration:underline;padding:2px 4px;font:inherit">Dismiss</a></aside>`)
	return []byte(b.String())
}

// dismissNotice answers PREFIX notice: the GPC notice's link, for a
// browser without JavaScript. It sets the cookie that hides the notice and
// sends the visitor back.
func (s *Server) dismissNotice(ctx *fasthttp.RequestCtx) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(noticeCookie)
	c.SetValue("0")
	c.SetPath("/")
	c.SetMaxAge(optOutMaxAge)
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	c.SetSecure(s.secureRequest(ctx))
	ctx.Response.Header.SetCookie(c)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Location", returnTarget(ctx))
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

// accountRecord is what an opt-out did to the visitor's account in the
// shared registry.
type accountRecord uint8

const (
	accountNone     accountRecord = iota // no registry, or the request names no account
	accountRecorded                      // written
	accountFailed                        // the registry could not be written
)

// confirmOptOut answers the opt-out endpoint with a first-party page that
// says what was recorded: the cookie, in this browser, and the account
// when the registry holds it; with a link back to target.
func (s *Server) confirmOptOut(ctx *fasthttp.RequestCtx, site *rules.Site, target string, acct accountRecord) {
	h := &ctx.Response.Header
	h.SetContentType("text/html; charset=utf-8")
	// The page is the proxy's own: nothing on it loads from anywhere.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	ctx.SetStatusCode(fasthttp.StatusOK)
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Your opt-out is saved</title>`)
	b.WriteString(`<style>body{margin:0;background:#f2f4f7;color:#1d2939;font:16px/1.55 system-ui,sans-serif}main{box-sizing:border-box;max-width:40rem;margin:8vh auto;padding:32px;background:#fff;border:1px solid #d0d5dd;border-radius:8px}h1{font-size:1.5rem;margin:0 0 .75rem}h2{font-size:1rem;margin:1.5rem 0 .5rem}ul{padding-left:1.25rem}li{margin:.4rem 0}code{font-size:.9em}a{color:#175cd3}a.continue{display:inline-block;margin-top:1rem;padding:10px 18px;background:#1d2939;color:#fff;border-radius:4px;text-decoration:none;font-weight:600}a.continue:focus-visible{outline:3px solid #175cd3;outline-offset:2px}.small{font-size:.875rem;color:#475467}</style></head><body><main>`)
	b.WriteString(`<h1>Your opt-out is saved</h1><p>`)
	if site.OptOutText != "" {
		b.WriteString(esc(site.OptOutText))
	} else {
		b.WriteString(`You have opted out of the sale and sharing of your personal information on `)
		b.WriteString(esc(string(stripPort(ctx.Request.Header.Host()))))
		b.WriteString(`. Advertising, analytics and social media partners no longer receive data about your visits here.`)
	}
	b.WriteString(`</p><h2>What was recorded</h2><ul><li>A cookie in this browser, <code>`)
	b.WriteString(esc(site.OptOutCookie + "=" + site.OptOutValue))
	b.WriteString(`</code>, kept for a year. It applies to this browser only: opt out again in another browser, on another device, or after you clear your cookies.</li>`)
	switch acct {
	case accountRecorded:
		b.WriteString(`<li>Your account: the opt-out now applies wherever you are signed in, on every device.</li>`)
	case accountFailed:
		b.WriteString(`<li>Your account could not be updated just now. This browser's opt-out is saved; opt out again later to apply it to your account on your other devices.</li>`)
	}
	if bytes.Equal(ctx.Request.Header.Peek("Sec-GPC"), []byte("1")) {
		b.WriteString(`<li>Your browser also sends the Global Privacy Control signal, which this site honors on every visit.</li>`)
	}
	b.WriteString(`</ul><a class="continue" href="`)
	b.WriteString(esc(target))
	b.WriteString(`">Continue</a><p class="small">Changed your mind? <a href="`)
	b.WriteString(esc(site.Prefix + "optin?return=" + url.QueryEscape(target)))
	b.WriteString(`">Withdraw your opt-out</a>.</p></main></body></html>` + "\n")
	ctx.SetBodyString(b.String())
}
