package proxy

import (
	"bytes"
	"strings"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/internal/coding"
	"github.com/consentgate/consentgate/proxy/internal/fieldlist"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/publicsuffix"
)

// enforcer applies one request's decision to one exchange: the cookies
// and headers, the body's coding, the receipt.
type enforcer struct {
	decision
	metrics *Metrics
	sm      *siteMetrics
	// held are the tracking cookies the visitor sent; they get an expiring
	// Set-Cookie in the response.
	held []heldCookie
	// accept are the content codings the visitor takes.
	accept coding.Set
	// guards are the runtime guard's scripts of set.
	guards *guard.Cache
	// rec is this response's receipt, nil when receipts are off.
	rec *receipt.Entry
}

type heldCookie struct {
	name   string
	cat    rules.Category // on this site
	vendor *rules.Vendor
}

// Bounds on the expiring Set-Cookie lines one response carries, so a crafted
// Cookie header cannot blow up the response: at most maxExpire cookies (each
// in at most three domain variants, see cookieDomains), and at most
// maxExpireBytes of added header lines; a cookie that does not fit is left
// for the next response, which expires it after the ones sent here are gone.
const (
	maxExpire      = 32
	maxExpireBytes = 16 << 10
)

// cookieDenied returns the vendor of a tracking cookie the visitor
// denies, or nil.
func (e *enforcer) cookieDenied(name []byte) *rules.Vendor {
	if v := e.set.CookieVendor(name); e.denied(v) {
		return v
	}
	return nil
}

// requestCookies rewrites the Cookie header sent upstream without the
// visitor's tracking cookies, keeping every other cookie in order. In
// shadow mode it counts them and changes nothing.
func (e *enforcer) requestCookies(in *fasthttp.RequestHeader, out *fasthttp.RequestHeader) {
	var kept []byte
	dropped := false
	for k, v := range in.Cookies() {
		if vendor := e.cookieDenied(k); vendor != nil {
			dropped = true
			cat := e.site.Category(vendor)
			e.metrics.CookiesDropped.WithLabelValues(e.sm.name, cat.String(), "request").Inc()
			if e.rec != nil {
				e.rec.CookieDroppedRequest(vendor, cat)
			}
			if len(e.held) < maxExpire && !e.holds(k) {
				e.held = append(e.held, heldCookie{string(k), cat, vendor})
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
	if !dropped || e.shadow {
		return
	}
	out.DelAllCookies()
	out.Del("Cookie")
	if len(kept) > 0 {
		out.SetBytesV("Cookie", kept)
	}
}

// holds reports whether the cookie name is among e.held already (a name
// sent twice is expired once).
func (e *enforcer) holds(name []byte) bool {
	for _, c := range e.held {
		if c.name == string(name) {
			return true
		}
	}
	return false
}

// responseHeaders enforces on the upstream's response headers: tracking
// Set-Cookie lines dropped (every other one kept as its own line, unchanged),
// expiring Set-Cookie lines for the tracking cookies the visitor still holds,
// Link preloads to trackers dropped, and Cache-Control made private. In
// shadow mode it counts the cookies and changes nothing.
func (e *enforcer) responseHeaders(h *fasthttp.ResponseHeader, host []byte) {
	var keep [][]byte
	dropped := false
	for name, line := range h.Cookies() {
		if e.rec != nil {
			e.rec.SetCookie(name) // the cookie inventory: names only
		}
		if v := e.cookieDenied(name); v != nil {
			dropped = true
			cat := e.site.Category(v)
			e.metrics.CookiesDropped.WithLabelValues(e.sm.name, cat.String(), "response").Inc()
			if e.rec != nil {
				e.rec.CookieDroppedResponse(v, cat)
			}
			continue
		}
		if !e.shadow {
			keep = append(keep, append([]byte(nil), line...))
		}
	}
	if (dropped || len(e.held) > 0) && !e.shadow {
		h.DelAllCookies()
		for _, line := range keep {
			h.AddBytesV("Set-Cookie", line)
		}
	}
	if len(e.held) > 0 {
		host, reg := cookieDomains(host)
		var buf [256]byte
		budget := maxExpireBytes
		for _, c := range e.held {
			// host-only, then Domain=host, then Domain=the registrable domain.
			n := 3
			switch {
			case host == "":
				n = 1
			case host == reg:
				n = 2
			}
			if budget -= n * (len(c.name) + len(expirySuffix) + len("; Domain=") + len(host)); budget < 0 {
				break
			}
			e.metrics.CookiesExpired.WithLabelValues(e.sm.name, c.cat.String()).Inc()
			if e.rec != nil {
				e.rec.CookieExpired(c.vendor, c.cat)
			}
			if e.shadow {
				continue // counted as enforcing would, not sent
			}
			line := append(append(append(buf[:0], c.name...), "=; Path=/"...), expirySuffix...)
			h.AddBytesV("Set-Cookie", line)
			domains := [2]string{host, reg}
			for _, d := range domains[:n-1] {
				line = append(append(append(append(buf[:0], c.name...), "=; Path=/; Domain="...), d...), expirySuffix...)
				h.AddBytesV("Set-Cookie", line)
			}
		}
	}
	if e.shadow {
		return
	}
	e.filterLink(h)
	makePrivate(h)
}

// expirySuffix ends an expiring Set-Cookie line.
const expirySuffix = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"

// cookieDomains gives the Domain= values a tracking cookie held by a visitor
// of host is expired with, besides the host-only cookie: the host itself and
// its registrable domain (equal when the host is registrable). IPs and
// single-label hosts have neither: their cookies are host-only.
//
// A cookie can also have been set on a parent between the two (a page on
// a.b.example.com may write Domain=b.example.com), but only by code that
// names that parent: trackers' own scripts write the registrable domain
// (Google Analytics' and Meta's "auto" cookie domain) or, configured so,
// the host. Expiring every parent made the work per request grow with the
// square of the host's length; two names bound it.
func cookieDomains(host []byte) (h, reg string) {
	h = string(bytes.ToLower(bytes.TrimSuffix(stripPort(host), []byte{'.'})))
	if h == "" || strings.IndexByte(h, '.') < 0 || isIP(h) {
		return "", ""
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return "", ""
	}
	return h, reg
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
	return e.denied(e.set.ClassifyURL(e.site, entry[i+1:j]))
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
		if f, rest = fieldlist.Next(rest); len(f) == 0 || bytes.EqualFold(f, []byte("public")) || bytes.EqualFold(f, []byte("private")) ||
			hasPrefixFold(f, "s-maxage") || hasPrefixFold(f, "proxy-revalidate") {
			continue
		}
		out = append(out, ", "...)
		out = append(out, f...)
	}
	h.SetBytesV("Cache-Control", out)
}
