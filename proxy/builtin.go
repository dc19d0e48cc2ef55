package proxy

import (
	"bytes"
	"encoding/json"
	"html"
	"net/url"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/urlhost"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// optOutMaxAge is how long the opt-out cookie lives: a year, renewed at each
// visit to the opt-out endpoint.
const optOutMaxAge = 365 * 24 * 3600

// builtin answers the built-in paths every site has and reports whether it did:
//
//	/.well-known/gpc.json   the GPC support resource (GPC spec §4.1)
//	PREFIX optout           sets the opt-out cookie; a page that confirms
//	                        what was recorded (?redirect=1, or the site's
//	                        optout_confirmation: false: redirects back)
//	PREFIX optin            GET: a page whose button POSTs back; a same-origin
//	                        POST clears the cookie and redirects back
//	PREFIX status           the decision for this request, as JSON
//	PREFIX guard            POST: the runtime guard's count of refused loads
//	PREFIX guard/FP.js      the runtime guard, immutable (see proxy/guard)
//	PREFIX notice           dismisses the GPC notice (a cookie), redirects back
//
// d is the request's decision; the guard script's path follows it.
func (s *Server) builtin(ctx *fasthttp.RequestCtx, st *state, d *decision, host []byte) bool {
	site := d.site
	path := ctx.Path()
	if string(path) == "/.well-known/gpc.json" {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.Response.Header.SetContentType("application/json")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=86400")
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		ctx.SetBodyString(`{"gpc": true, "lastUpdate": "` + st.set.LoadedAt().UTC().Format("2006-01-02") + "\"}\n")
		return true
	}
	if len(path) < len(site.Prefix) || string(path[:len(site.Prefix)]) != site.Prefix {
		return false
	}
	switch string(path[len(site.Prefix):]) {
	case "optout":
		s.setOptOut(ctx, st, site, true)
	case "optin":
		s.optIn(ctx, st, site)
	case noticePath:
		s.dismissNotice(ctx)
	case "status":
		b, _ := json.MarshalIndent(statusOf(s.explain(ctx, st, site), st.set, site), "", "  ")
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.Response.Header.SetContentType("application/json")
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetBody(append(b, '\n'))
	default:
		rest := path[len(site.Prefix):]
		switch {
		case string(rest) == guard.EndpointPath:
			s.guardReport(ctx, st, site)
		case bytes.HasPrefix(rest, []byte(guard.ScriptDir)):
			s.guardScript(ctx, st, d, rest[len(guard.ScriptDir):])
		default:
			return false // the site's own path: proxy it
		}
	}
	return true
}

// optIn withdraws the opt-out, but only when a page of the site asks: a
// POST whose Sec-Fetch-Site is same-origin and whose Origin is this host.
// A link or a form on another site must not be able to switch trackers
// back on for a visitor (opting out may stay one click; opting back in is
// the direction that can hurt). A GET answers with a page whose button
// makes that POST.
func (s *Server) optIn(ctx *fasthttp.RequestCtx, st *state, site *rules.Site) {
	target := returnTarget(ctx)
	if !ctx.IsPost() {
		action := site.Prefix + "optin?return=" + url.QueryEscape(target)
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetBodyString("<!doctype html><title>Withdraw your opt-out</title>" +
			`<form method="post" action="` + html.EscapeString(action) + `">` +
			"<p>You have opted out of the sale and sharing of your personal information.</p>" +
			`<button type="submit">Withdraw my opt-out</button> <a href="` + html.EscapeString(target) + `">Keep it</a></form>` + "\n")
		return
	}
	if !sameOrigin(ctx) {
		plainError(ctx, fasthttp.StatusForbidden, "an opt-out can only be withdrawn from a page of this site")
		return
	}
	s.setOptOut(ctx, st, site, false)
}

// sameOrigin reports whether a request comes from a page of the host it is
// sent to: Sec-Fetch-Site, when sent (browsers set it; pages cannot), is
// same-origin, and Origin, when sent, names this host. A request with
// neither, or with Origin: null, is not.
func sameOrigin(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	sfs := h.Peek("Sec-Fetch-Site")
	origin := h.Peek("Origin")
	if len(sfs) == 0 && len(origin) == 0 {
		return false
	}
	if len(sfs) > 0 && !bytes.Equal(sfs, []byte("same-origin")) {
		return false
	}
	if len(origin) == 0 {
		return true
	}
	rest, ok := bytes.CutPrefix(origin, []byte("https://"))
	if !ok {
		if rest, ok = bytes.CutPrefix(origin, []byte("http://")); !ok {
			return false
		}
	}
	return bytes.EqualFold(rest, h.Host())
}

// returnTarget is where the built-in paths send the visitor back to: the
// return query parameter, else the Referer on this host, else /.
func returnTarget(ctx *fasthttp.RequestCtx) string {
	target := safeReturn(ctx.QueryArgs().Peek("return"))
	if target == "" {
		target = safeReturn(refererPath(ctx.Request.Header.Referer(), ctx.Request.Header.Host()))
	}
	if target == "" {
		target = "/"
	}
	return target
}

// setOptOut sets or clears the site's opt-out cookie and sends the visitor
// back where they came from; an opt-out gets the confirmation page instead
// unless the site or the link asks for the redirect.
func (s *Server) setOptOut(ctx *fasthttp.RequestCtx, st *state, site *rules.Site, out bool) {
	acct := s.recordAccount(ctx, st, site, out) // the same choice for the visitor's account, on every device
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(site.OptOutCookie)
	c.SetPath("/")
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	// X-Forwarded-Proto only from a trusted proxy: anyone else could
	// change the cookie's attributes.
	c.SetSecure(s.secureRequest(ctx))
	if out {
		c.SetValue(site.OptOutValue)
		c.SetMaxAge(optOutMaxAge)
	} else {
		c.SetValue("")
		c.SetExpire(fasthttp.CookieExpireDelete)
	}
	ctx.Response.Header.SetCookie(c)
	if !out && site.Propagate {
		expirePropagated(ctx, &ctx.Response.Header)
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Vary", "Cookie")
	target := returnTarget(ctx)
	if out && site.OptOutConfirmation && string(ctx.QueryArgs().Peek("redirect")) != "1" {
		s.confirmOptOut(ctx, site, target, acct)
		return
	}
	ctx.Response.Header.Set("Location", target)
	ctx.Response.Header.SetContentType("text/html; charset=utf-8")
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
	msg := "You have opted out of the sale and sharing of your personal information."
	if !out {
		msg = "Your opt-out of the sale and sharing of your personal information was withdrawn."
	}
	ctx.SetBodyString("<!doctype html><title>Privacy choice saved</title><p>" + msg +
		` <a href="` + html.EscapeString(target) + `">Continue</a></p>` + "\n")
}

// secureRequest reports whether the visitor's request came over TLS: to the
// proxy, or to a trusted proxy in front that says so (X-Forwarded-Proto
// from anyone else could change a cookie's attributes).
func (s *Server) secureRequest(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsTLS() || s.trusted(peerAddr(ctx)) && bytes.Equal(ctx.Request.Header.Peek("X-Forwarded-Proto"), []byte("https"))
}

// safeReturn accepts only a local path, so the endpoints cannot be used as
// an open redirect.
func safeReturn(p []byte) string {
	if len(p) == 0 || p[0] != '/' || len(p) > 2048 {
		return ""
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return ""
	}
	for _, c := range p {
		if c < 0x21 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	return string(p)
}

// refererPath returns the path of a Referer on the same host.
func refererPath(ref, host []byte) []byte {
	h := urlhost.Find(ref)
	if h == nil || !bytes.EqualFold(h, stripPort(host)) {
		return nil
	}
	// h is a part of ref (urlhost.Find slices its input): the path follows it
	// and its port, however many slashes came before it.
	rest := ref[cap(ref)-cap(h)+len(h):]
	if j := bytes.IndexByte(rest, '/'); j >= 0 {
		return rest[j:]
	}
	return []byte("/")
}

// status is the JSON of the status endpoint: the decision as explain
// prints it, and what this site does with it.
type status struct {
	*signals.Explanation
	Site string `json:"site"`
	Mode string `json:"mode"`
	// Shadow: the site only counts what it would enforce.
	Shadow bool `json:"shadow"`
	// Enforced are the categories enforced on this request: denied, unless
	// the site is in shadow mode.
	Enforced []string `json:"enforced"`
	Rules    string   `json:"rules"`
}

func statusOf(e *signals.Explanation, set *rules.Set, site *rules.Site) status {
	st := status{Explanation: e, Site: site.Name, Mode: e.Consent.Mode.String(), Shadow: site.Shadow,
		Enforced: e.Consent.Denied.Names(), Rules: set.Version()}
	if site.Shadow {
		st.Enforced = []string{}
	}
	return st
}
