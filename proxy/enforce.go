package proxy

import (
	"bytes"

	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/publicsuffix"
)

// enforcer applies one visitor's denied categories to one exchange.
type enforcer struct {
	set     *rules.Set
	site    *rules.Site
	deny    rules.Categories
	metrics *Metrics
	sm      *siteMetrics
	// held are the tracking cookies the visitor sent; they get an expiring
	// Set-Cookie in the response.
	held []heldCookie
	// clientGzip is whether the visitor accepts gzip, so a gzip body can be
	// re-encoded after rewriting.
	clientGzip bool
}

type heldCookie struct {
	name string
	cat  rules.Category
}

// maxExpire bounds how many cookies one response expires (each in several
// domain variants), so a crafted Cookie header cannot blow up the response.
const maxExpire = 64

func (e *enforcer) active() bool { return e.deny != 0 }

// denied returns the vendor of a tracking cookie the visitor denies, or nil.
func (e *enforcer) cookieDenied(name []byte) *rules.Vendor {
	v := e.set.CookieVendor(name)
	if v == nil || !e.site.Denied(v, e.deny) {
		return nil
	}
	return v
}

// requestCookies rewrites the Cookie header sent upstream without the
// visitor's tracking cookies, keeping every other cookie in order.
func (e *enforcer) requestCookies(in *fasthttp.RequestHeader, out *fasthttp.RequestHeader) {
	var kept []byte
	dropped := false
	for k, v := range in.Cookies() {
		if vendor := e.cookieDenied(k); vendor != nil {
			dropped = true
			e.metrics.CookiesDropped.WithLabelValues(e.sm.name, vendor.Category.String(), "request").Inc()
			if len(e.held) < maxExpire {
				e.held = append(e.held, heldCookie{string(k), vendor.Category})
			}
			continue
		}
		if len(kept) > 0 {
			kept = append(kept, "; "...)
		}
		kept = append(kept, k...)
		kept = append(kept, '=')
		kept = append(kept, v...)
	}
	if !dropped {
		return
	}
	out.DelAllCookies()
	out.Del("Cookie")
	if len(kept) > 0 {
		out.SetBytesV("Cookie", kept)
	}
}

// responseHeaders enforces on the upstream's response headers: tracking
// Set-Cookie lines dropped (every other one kept as its own line, unchanged),
// expiring Set-Cookie lines for the tracking cookies the visitor still holds,
// Link preloads to trackers dropped, and Cache-Control made private.
func (e *enforcer) responseHeaders(h *fasthttp.ResponseHeader, host []byte) {
	var keep [][]byte
	dropped := false
	for name, line := range h.Cookies() {
		if v := e.cookieDenied(name); v != nil {
			dropped = true
			e.metrics.CookiesDropped.WithLabelValues(e.sm.name, v.Category.String(), "response").Inc()
			continue
		}
		keep = append(keep, append([]byte(nil), line...))
	}
	if dropped || len(e.held) > 0 {
		h.DelAllCookies()
		for _, line := range keep {
			h.AddBytesV("Set-Cookie", line)
		}
	}
	if len(e.held) > 0 {
		domains := cookieDomains(host)
		for _, c := range e.held {
			e.metrics.CookiesExpired.WithLabelValues(e.sm.name, c.cat.String()).Inc()
			h.Add("Set-Cookie", c.name+"=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
			for _, d := range domains {
				h.Add("Set-Cookie", c.name+"=; Path=/; Domain="+d+"; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
			}
		}
	}
	e.filterLink(h)
	makePrivate(h)
}

// cookieDomains lists the Domain= values a tracking cookie may have been set
// with for a page on host: the host itself and each parent down to the
// registrable domain (never a public suffix). IPs and single-label hosts have
// none: their cookies are host-only.
func cookieDomains(host []byte) []string {
	h := string(bytes.ToLower(stripPort(host)))
	if h == "" || bytes.IndexByte(host, '.') < 0 || isIP(h) {
		return nil
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return nil
	}
	var out []string
	for {
		out = append(out, h)
		if h == reg {
			return out
		}
		i := bytes.IndexByte([]byte(h), '.')
		if i < 0 {
			return out
		}
		h = h[i+1:]
	}
}

func isIP(h string) bool {
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c == '.' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// filterLink drops Link header entries (preload, preconnect, prefetch, …)
// that point at a denied vendor.
func (e *enforcer) filterLink(h *fasthttp.ResponseHeader) {
	all := h.PeekAll("Link")
	if len(all) == 0 {
		return
	}
	var out [][]byte
	changed := false
	for _, v := range all {
		var kept []byte
		for _, entry := range splitLink(v) {
			if e.linkDenied(entry) {
				changed = true
				continue
			}
			if len(kept) > 0 {
				kept = append(kept, ", "...)
			}
			kept = append(kept, bytes.TrimSpace(entry)...)
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	if !changed {
		return
	}
	h.Del("Link")
	for _, v := range out {
		h.AddBytesV("Link", v)
	}
}

func (e *enforcer) linkDenied(entry []byte) bool {
	i := bytes.IndexByte(entry, '<')
	j := bytes.IndexByte(entry, '>')
	if i < 0 || j < i {
		return false
	}
	v := e.set.ClassifyURL(e.site, entry[i+1:j])
	return e.site.Denied(v, e.deny)
}

// splitLink splits a Link header value at commas outside <…> and quotes.
func splitLink(v []byte) [][]byte {
	var out [][]byte
	inURL, inQuote, start := false, false, 0
	for i, c := range v {
		switch {
		case c == '<' && !inQuote:
			inURL = true
		case c == '>' && !inQuote:
			inURL = false
		case c == '"' && !inURL:
			inQuote = !inQuote
		case c == ',' && !inURL && !inQuote:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// makePrivate keeps shared caches from storing an enforced response (it may
// carry expiring cookies or a rewritten body): public and s-maxage go,
// private is added; no-store is kept as it is.
func makePrivate(h *fasthttp.ResponseHeader) {
	cc := h.Peek("Cache-Control")
	out := []byte("private")
	for rest := cc; len(rest) > 0; {
		var f []byte
		if f, rest = nextToken(rest); len(f) == 0 || bytes.EqualFold(f, []byte("public")) || bytes.EqualFold(f, []byte("private")) ||
			hasPrefixFold(f, "s-maxage") || hasPrefixFold(f, "proxy-revalidate") {
			continue
		}
		out = append(out, ", "...)
		out = append(out, f...)
	}
	h.SetBytesV("Cache-Control", out)
}
