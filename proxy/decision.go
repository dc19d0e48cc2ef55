package proxy

import (
	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// decision is what the proxy does for one request: made once, by decide,
// from the site and the visitor's signals, and passed down to the built-in
// paths, the upstream request, the response headers and the body. Nothing
// after decide reads the signals or the site's mode again, and every
// "is this vendor denied" of the request (cookies, Link headers, the
// rewriter's policy) goes through denied or policy.
type decision struct {
	set  *rules.Set
	site *rules.Site
	// consent is what the signals said; the receipt, the decision header
	// and the access log show it.
	consent signals.Consent
	// deny are the categories enforced (consent.Denied).
	deny rules.Categories
	// shadow: count everything as if enforcing, change nothing
	// (site.Shadow).
	shadow bool
	// sources are the signals that decided the visitor's denial: the
	// placeholders say why, the GPC notice is for Sec-GPC alone.
	sources signals.Source
	// prop is what the page tells the vendors that stay about the
	// visitor's opt-out (site.Propagate).
	prop guard.Propagation
}

// decide reads the visitor's signals for site (with the address and the
// registry's answer, which take I/O the signals package never does) and
// counts the signals that did not parse.
func (s *Server) decide(ctx *fasthttp.RequestCtx, st *state, site *rules.Site) decision {
	in := s.input(ctx, site)
	if s.opts.Registry != nil {
		in.Registry = s.registryAnswer(ctx, st, site)
	}
	c := s.opts.Signals.ReadInput(st.signals[site.Index()], &ctx.Request.Header, in)
	if c.Errors != 0 {
		c.EachError(func(src string, r signals.Reason) { s.metrics.ParseErrors.WithLabelValues(src, r.String()).Inc() })
	}
	return decision{set: st.set, site: site, consent: c, deny: c.Denied, shadow: site.Shadow,
		sources: c.Sources, prop: guard.PropagationFor(site, c)}
}

// active reports whether the exchange is changed: something is denied and
// the site is not in shadow mode.
func (d *decision) active() bool { return d.deny != 0 && !d.shadow }

// observed reports whether the exchange is enforced or, in shadow mode,
// counted as if it were.
func (d *decision) observed() bool { return d.deny != 0 }

// mirror reports whether the consent mirror follows the visitor's pages:
// a site with the mirror, not in shadow mode, where nothing is enforced
// (an enforced page carries the signals in its head script instead).
func (d *decision) mirror() bool { return d.site.Mirror && !d.shadow && !d.active() }

// denied reports whether the visitor denies vendor v on this site (nil:
// no vendor, not denied): its category is denied and the site does not
// allow it. The rewriter decides by the same rule (policy).
func (d *decision) denied(v *rules.Vendor) bool { return d.site.Denied(v, d.deny) }

// policy returns the rewriter's policy of the decision, before what the
// page's headers and the site's visitor features add (rewritePolicy).
// Pooled writers keep it compiled across pages with the same set, site
// and denial.
func (d *decision) policy() rewrite.Policy {
	return rewrite.Policy{Set: d.set, Site: d.site, Deny: d.deny, Stub: true}
}

// count counts the request by its decision in the site's metrics.
func (sm *siteMetrics) count(d *decision) {
	switch {
	case d.consent.OptedOut:
		sm.reqOptedOut.Inc()
		d.sources.Each(func(i int) { sm.sources[i].Inc() })
	case d.deny != 0:
		// Opt-in region, no consent yet: enforced without an opt-out.
		sm.reqConsentRequired.Inc()
	default:
		sm.reqNone.Inc()
	}
}
