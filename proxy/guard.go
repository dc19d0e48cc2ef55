package proxy

import (
	"bytes"
	"time"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/internal/coding"
	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
)

// reportRate bounds the runtime guard's count reports the proxy reads, per
// second, all sites together (a burst of twice as many); past it a report
// is answered 429 and counted, not read. A guard sends one report per page
// view with refusals, plus one when the page is hidden.
const reportRate = 1000

// guardHead returns the element that puts the runtime guard into an
// opted-out page, the CSP source that the page's policies must allow for
// it ("" when they need none), and whether it holds the guard; nil when
// the site serves no guard or the visitor's denial leaves nothing for it
// to refuse, and the site has no signal script to carry either
// (propagation, the consent mirror: then the element is a head script of
// the stub and those, inline). An external guard is inlined instead when
// the response has a policy that governs scripts: its hash can be added
// to the policy, its URL could not be under 'strict-dynamic'.
func guardHead(e *enforcer, h *fasthttp.ResponseHeader) ([]byte, string, bool) {
	if e.guards == nil {
		return nil, "", false
	}
	if e.site.Guard != rules.GuardOff {
		if g := e.guards.ForPropagation(e.site, e.deny, e.prop); g != nil {
			if e.site.Guard == rules.GuardExternal && !cspGovernsScripts(h) {
				return g.Tag, "", true
			}
			return g.Inline, g.Hash, true
		}
	}
	if hd := e.guards.Head(e.site, e.deny, e.prop); hd != nil {
		return hd.Inline, hd.Hash, false
	}
	return nil, "", false
}

// cspGovernsScripts reports whether a CSP header of the response (enforced
// or report-only) has a directive that governs script elements.
func cspGovernsScripts(h *fasthttp.ResponseHeader) bool {
	for _, name := range cspHeaders {
		for _, v := range h.PeekAll(name) {
			for d := range bytes.SplitSeq(v, []byte{';'}) {
				for p := range bytes.SplitSeq(d, []byte{','}) {
					n, _, _ := bytes.Cut(bytes.TrimSpace(p), []byte{' '})
					if bytes.EqualFold(n, []byte("script-src")) || bytes.EqualFold(n, []byte("script-src-elem")) || bytes.EqualFold(n, []byte("default-src")) {
						return true
					}
				}
			}
		}
	}
	return false
}

var cspHeaders = []string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"}

// allowScriptHash adds hash to every CSP header line of the response.
// Each line is a policy the browser enforces on its own, so each must
// allow the inserted script; none is dropped or merged.
func allowScriptHash(h *fasthttp.ResponseHeader, hash string) {
	for _, name := range cspHeaders {
		lines := h.PeekAll(name)
		if len(lines) == 0 {
			continue
		}
		out := make([][]byte, len(lines))
		for i, l := range lines {
			out[i] = cspAllowHash(l, hash)
		}
		h.Del(name)
		for _, l := range out {
			h.AddBytesV(name, l)
		}
	}
}

// guardScript serves the runtime guard whose fingerprint is in name
// ("FINGERPRINT.js") as an immutable script. A fingerprint this rule set
// does not give (a page served before a reload) sends a visitor who denies
// something to the current guard of their denial, uncached, so a page
// never goes unguarded for want of an old script; anyone else gets 404.
// d is the request's decision (decide).
func (s *Server) guardScript(ctx *fasthttp.RequestCtx, st *state, d *decision, name []byte) {
	site := d.site
	h := &ctx.Response.Header
	if !ctx.IsGet() && !ctx.IsHead() {
		h.Set("Allow", "GET, HEAD")
		plainError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	fp, ok := bytes.CutSuffix(name, []byte(".js"))
	var g *guard.Script
	if ok {
		g = st.guards.ByFingerprint(site, string(fp))
	}
	if g == nil {
		if cur := st.guards.ForPropagation(site, d.deny, d.prop); d.deny != 0 && cur != nil && site.Guard != rules.GuardOff {
			h.Set("Cache-Control", "no-store")
			h.Set("Location", cur.Path)
			ctx.SetStatusCode(fasthttp.StatusTemporaryRedirect)
			return
		}
		plainError(ctx, fasthttp.StatusNotFound, "no such guard script")
		return
	}
	h.SetContentType("text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Vary", "Accept-Encoding")
	body := g.JS
	if coding.Accepted(ctx.Request.Header.Peek("Accept-Encoding")).Has(coding.Gzip) {
		h.Set("Content-Encoding", "gzip")
		body = g.Gzip()
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	if ctx.IsHead() {
		h.SetContentLength(len(body))
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetBody(body)
}

// guardReport counts a runtime guard's report of refused loads: vendor ids
// and counts, validated against the rule set (see guard.ReadReport) and
// bounded in size and rate, since anyone can post one.
func (s *Server) guardReport(ctx *fasthttp.RequestCtx, st *state, site *rules.Site) {
	h := &ctx.Response.Header
	h.Set("Cache-Control", "no-store")
	if !ctx.IsPost() {
		h.Set("Allow", "POST")
		plainError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	result := func(r string) { s.metrics.RuntimeReports.WithLabelValues(site.Name, r).Inc() }
	body := ctx.Request.Body()
	if len(body) > guard.MaxReport {
		result("too_large")
		plainError(ctx, fasthttp.StatusRequestEntityTooLarge, "report too large")
		return
	}
	if !s.reports.Allow(time.Now()) {
		result("rate_limited")
		plainError(ctx, fasthttp.StatusTooManyRequests, "too many reports")
		return
	}
	var buf [16]guard.Block
	blocks, ignored, err := guard.ReadReport(buf[:0], body, st.set, site)
	if err != nil {
		if err == guard.ErrReportTooLarge {
			result("too_large")
		} else {
			result("malformed")
		}
		plainError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	for _, b := range blocks {
		s.metrics.RuntimeBlocked.WithLabelValues(site.Name, site.Category(b.Vendor).String(), b.Vendor.ID).Add(float64(b.Count))
	}
	if ignored > 0 {
		result("ignored_entries")
	} else {
		result("ok")
	}
	if len(blocks) > 0 && s.opts.OnRuntimeBlocked != nil {
		s.opts.OnRuntimeBlocked(ctx, site, blocks)
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
