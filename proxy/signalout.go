package proxy

import (
	"bytes"
	"io"
	"sync"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/internal/coding"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// What the proxy writes into pages beyond enforcement, per site option:
// propagation of an opt-out to the vendors that stay (site.Propagate) and
// the consent mirror (site.Mirror). See docs/signals.md.

// propagatedCookies are the cookies propagation writes, in the order
// written.
var propagatedCookies = [...]string{"usprivacy", "__gpp", "__gpp_sid"}

// propagateCookies adds to h, the response to an enforced page of a
// visitor who opted out, the usprivacy, __gpp and __gpp_sid cookies that
// tell the vendors on the page, where the values the visitor holds do not
// opt out already (signals.PropagateUSP, PropagateGPP: never weaker than
// what they hold). The cookies last the browser session, so propagation
// never outlives the signals that caused it by more than that, and are
// set on the registrable domain (where consent tools keep theirs, so
// one is replaced rather than shadowed), host-only on an address or a
// single-label host.
func (s *Server) propagateCookies(ctx *fasthttp.RequestCtx, h *fasthttp.ResponseHeader, p guard.Propagation) {
	req := &ctx.Request.Header
	usp, writeUSP := signals.PropagateUSP(req.Cookie("usprivacy"))
	gpp, sid, writeGPP := signals.PropagateGPP(req.Cookie("__gpp"), req.Cookie("__gpp_sid"), p.GPC())
	if !writeUSP && !writeGPP {
		return
	}
	_, domain := cookieDomains(req.Host())
	secure := s.secure(ctx)
	set := func(name, value string) {
		c := fasthttp.AcquireCookie()
		defer fasthttp.ReleaseCookie(c)
		c.SetKey(name)
		c.SetValue(value)
		c.SetPath("/")
		if domain != "" {
			c.SetDomain(domain)
		}
		c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
		c.SetSecure(secure)
		h.SetCookie(c)
	}
	if writeUSP {
		set("usprivacy", usp)
	}
	if writeGPP {
		set("__gpp", gpp)
		set("__gpp_sid", sid)
	}
}

// expirePropagated adds to h an expiring Set-Cookie for each propagated
// cookie whose value the request carries is one the proxy writes
// (signals.IsPropagated): withdrawing an opt-out withdraws what the proxy
// told the vendors too. A consent tool's own value, or one the proxy
// spliced into it, is left to the tool and ends with the session.
func expirePropagated(ctx *fasthttp.RequestCtx, h *fasthttp.ResponseHeader) {
	_, domain := cookieDomains(ctx.Request.Header.Host())
	for _, name := range propagatedCookies {
		if !signals.IsPropagated(name, ctx.Request.Header.Cookie(name)) {
			continue
		}
		line := name + "=; Path=/"
		if domain != "" {
			line += "; Domain=" + domain
		}
		h.Add("Set-Cookie", line+expirySuffix)
	}
}

// secure reports whether the visitor's connection is HTTPS: TLS here, or
// X-Forwarded-Proto: https from a trusted proxy.
func (s *Server) secure(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsTLS() || s.trusted(peerAddr(ctx)) && bytes.Equal(ctx.Request.Header.Peek("X-Forwarded-Proto"), []byte("https"))
}

// mirrorTail returns the consent mirror's script element to follow the
// body of a page of a site with the mirror that the proxy does not
// otherwise change (the visitor is not enforced), and whether the body is
// gzip-encoded, so it must be decoded to append it and encoded again
// (relayMirror). The HTML parser takes an element after </html> into the
// body, so the script runs when the page is parsed; an identity body is
// passed on byte for byte, the element after it. (A second gzip member
// after the upstream's would spare the re-encoding, but Chromium stops at
// the end of the first.) It returns nil, and the response is left as it
// is, unless the response is a whole HTML page (200, text/html: not XHTML,
// which an element after its root would break), identity or gzip encoded,
// to a document request (documentRequest). It fixes the headers for the
// tail: no strong ETag, no Accept-Ranges, the script's hash in the page's
// CSP.
func mirrorTail(ctx *fasthttp.RequestCtx, st *state, site *rules.Site, resp *fasthttp.Response) (tail []byte, regzip bool) {
	m := st.guards.Mirror(site)
	if m == nil || resp.StatusCode() != fasthttp.StatusOK || !hasPrefixFold(resp.Header.ContentType(), "text/html") ||
		!documentRequest(&ctx.Request.Header) {
		return nil, false
	}
	switch coding.Of(resp.Header.ContentEncoding()) {
	case coding.Identity:
	case coding.Gzip:
		regzip = true
	default:
		return nil, false // br, zstd, deflate: the request asked for gzip or identity
	}
	h := &resp.Header
	h.Del("Accept-Ranges")
	weakenETag(h)
	allowScriptHash(h, m.Hash)
	return m.Inline, regzip
}

// relayMirror sends a gzip body with the consent mirror's tail: decoded
// (at most MaxDecodedBody bytes), the tail appended, and encoded again at
// the proxy's fastest level for a visitor who takes gzip (accept), sent
// decoded to one who does not. A body of known length up to bufferBelow
// is done whole, one write with its length; a larger one streams. A body
// that is not gzip after all goes out as it came, without the tail. A
// body cut short upstream is cut short visibly, without the tail: a 502
// for a small one, a missing last chunk for a streamed one.
func (s *Server) relayMirror(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, accept coding.Set, tail []byte, cut prometheus.Counter) error {
	var zr *coding.Reader
	var err error
	if resp.IsBodyStream() {
		zr, err = s.decoders.Open(coding.Gzip, resp.BodyStream())
		if err != nil && !undecodable(err) {
			// Broke off before anything was sent.
			zr.Close()             //nolint:errcheck
			resp.CloseBodyStream() //nolint:errcheck
			fasthttp.ReleaseResponse(resp)
			brokeOff(ctx)
			return errTruncated
		}
		if err != nil {
			// Open kept what it read: every byte goes out.
			relayReader(ctx, resp, zr, cut)
			return nil
		}
	} else if zr, err = s.decoders.OpenBytes(coding.Gzip, resp.Body()); err != nil {
		zr.Close() //nolint:errcheck
		return relayBody(ctx, resp, nil, cut)
	}
	h := &ctx.Response.Header
	h.Del("Content-Length")
	out := accept.Output(coding.Gzip)
	if out == coding.Identity {
		h.Del("Content-Encoding")
	}
	g := gzipTailPool.Get().(*gzipTail)
	g.resp, g.zr, g.tail, g.cut = resp, zr, tail, cut
	g.zw.Reset(out, &g.out)
	if n := resp.Header.ContentLength(); !resp.IsBodyStream() || n >= 0 && n <= bufferBelow {
		// Room for the page encoded at the fastest level (a little larger
		// than the upstream's usual level) and the tail; decoded, about
		// four times the upstream's bytes.
		n = max(n, len(resp.Body()))
		size := n + n/4 + len(tail)
		if out == coding.Identity {
			size = 4*n + len(tail)
		}
		w := appendWriter{responseBuffer(ctx, size)}
		_, err := g.WriteTo(&w)
		g.Close() //nolint:errcheck // releases resp
		ctx.Response.SwapBody(w.b)
		if err != nil {
			brokeOff(ctx)
			return errTruncated
		}
		return nil
	}
	ctx.Response.SetBodyStream(g, -1)
	return nil
}

// gzipTail is a gzip body decoded, followed by a tail and encoded again
// (or not, zw Identity), as it is read.
type gzipTail struct {
	resp  *fasthttp.Response
	zr    *coding.Reader // the body decoded, at most MaxDecodedBody
	zw    coding.Writer
	out   bytes.Buffer
	tail  []byte
	chunk *[]byte
	err   error
	cut   prometheus.Counter
}

// gzipTailPool keeps gzipTails with their output buffer (up to 64 KiB).
var gzipTailPool = sync.Pool{New: func() any { return new(gzipTail) }}

// fill encodes the next chunk of the body into out, and the tail and the
// gzip trailer after the last.
func (g *gzipTail) fill() {
	if g.chunk == nil {
		g.chunk = chunkPool.Get().(*[]byte)
	}
	for g.out.Len() == 0 && g.err == nil {
		n, err := g.zr.Read(*g.chunk)
		g.zw.Write((*g.chunk)[:n]) //nolint:errcheck // to memory
		switch {
		case err == io.EOF:
			g.zw.Write(g.tail) //nolint:errcheck
			g.zw.Close()       //nolint:errcheck
			g.err = io.EOF
		case err != nil:
			if g.cut != nil {
				g.cut.Inc()
			}
			g.err = errTruncated
		}
	}
}

func (g *gzipTail) Read(p []byte) (int, error) {
	if g.out.Len() == 0 {
		g.fill()
	}
	if g.out.Len() > 0 {
		return g.out.Read(p)
	}
	return 0, g.err
}

// WriteTo hands each encoded chunk on whole.
func (g *gzipTail) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		g.fill()
		if g.out.Len() > 0 {
			n, err := w.Write(g.out.Bytes())
			total += int64(n)
			g.out.Reset()
			if err != nil {
				return total, err
			}
			continue
		}
		if g.err == io.EOF {
			return total, nil
		}
		return total, g.err
	}
}

// SupportsBodyWriteTo lets fasthttp use WriteTo.
func (g *gzipTail) SupportsBodyWriteTo() bool { return true }

// Close releases the upstream response and the pooled coders; fasthttp
// calls it once, when the body is written or the client went away.
func (g *gzipTail) Close() error {
	if g.resp == nil {
		return nil
	}
	g.resp.CloseBodyStream() //nolint:errcheck
	fasthttp.ReleaseResponse(g.resp)
	g.zr.Close() //nolint:errcheck
	g.zw.Abort()
	if g.chunk != nil {
		chunkPool.Put(g.chunk)
	}
	out := g.out
	*g = gzipTail{}
	if out.Cap() <= 64<<10 {
		out.Reset()
		g.out = out
		gzipTailPool.Put(g)
	}
	return nil
}

// documentRequest reports whether a request loads a document the mirror
// may run in: Sec-Fetch-Dest document, iframe or frame, or no
// Sec-Fetch-Dest (browsers before it, which load HTML subresources
// rarely). A fetch of an HTML fragment (Sec-Fetch-Dest: empty) is left
// alone: code may insert it into a page, or read it as text.
func documentRequest(h *fasthttp.RequestHeader) bool {
	switch d := h.Peek("Sec-Fetch-Dest"); string(d) {
	case "", "document", "iframe", "frame":
		return true
	}
	return false
}
