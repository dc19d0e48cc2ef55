package proxy

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/internal/coding"
	"github.com/consentgate/consentgate/proxy/internal/fieldlist"
	"github.com/consentgate/consentgate/rules"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// hopHeaders are the hop-by-hop headers of RFC 9110 §7.6.1 plus the
// de-facto ones; they are never forwarded in either direction.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// forward carries out the decision d for one request: the upstream
// request (prepareRequest), the round trip, the response headers
// (responseHead) and the body (sendBody), in that order.
func (s *Server) forward(ctx *fasthttp.RequestCtx, st *state, sm *siteMetrics, host []byte, d *decision) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	s.datelessOnce.Do(func() {
		// Before the handler, fasthttp sets the response header's "no
		// default Date" from the server's NoDefaultDate, and no API sets it
		// otherwise; CopyTo carries it.
		ctx.Response.Header.CopyTo(&s.dateless)
	})
	e := enforcer{decision: *d, metrics: s.metrics, sm: sm, guards: st.guards}
	if e.observed() && s.opts.Receipts != nil {
		e.rec = s.newReceipt(ctx, d)
		defer s.settle(ctx, &e)
	}
	s.prepareRequest(ctx, req, host, &e)

	resp := fasthttp.AcquireResponse()
	// An upstream response without Content-Type must read as such, not as
	// fasthttp's default text/plain.
	resp.Header.SetNoDefaultContentType(true)
	start := time.Now()
	err := st.clients[e.site.Index()].DoDeadline(req, resp, start.Add(s.opts.UpstreamTimeout))
	sm.upstream.Observe(time.Since(start).Seconds())
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		s.upstreamError(ctx, sm, err)
		return
	}
	bodyIdleTimeout(resp, s.opts.UpstreamIdleTimeout)
	var b bodyPlan
	if !s.responseHead(ctx, st, &e, resp, &b) {
		fasthttp.ReleaseResponse(resp)
		return
	}
	s.sendBody(ctx, resp, &e, &b)
}

// bodyPlan is what the response headers decided about the body.
type bodyPlan struct {
	html    bool   // labelled HTML, or sniffed as HTML
	sniffed []byte // bytes taken from the stream to sniff, sent first
	rewrite bool   // the body goes through the rewriter
	tail    []byte // the consent mirror's tail (mirrorTail)
	regzip  bool   // the page with the tail is encoded again
}

// responseHead enforces on the upstream response's headers and copies them
// to the visitor's response, filling b for the body. It reports whether a
// body is to be sent: not when the response is refused (a part of a page
// to an enforced visitor: 502) or the request was HEAD.
func (s *Server) responseHead(ctx *fasthttp.RequestCtx, st *state, e *enforcer, resp *fasthttp.Response, b *bodyPlan) bool {
	b.html = isHTML(resp)
	if e.active() && resp.StatusCode() == fasthttp.StatusPartialContent && (b.html || len(resp.Header.ContentType()) == 0 || isScriptDocument(resp)) {
		// The request went up without Range: a part of a page is all that
		// came back, and it cannot be rewritten as a page.
		resp.CloseBodyStream() //nolint:errcheck
		s.metrics.UpstreamErrors.WithLabelValues(e.sm.name, reasonBadResp).Inc()
		plainError(ctx, fasthttp.StatusBadGateway, "the site answered a part of the page where the whole was asked for")
		return false
	}
	if !b.html && e.observed() && len(resp.Header.ContentType()) == 0 && canRewrite(ctx, resp) {
		// No Content-Type: a page served to an opted-out visitor must not
		// escape the rewriter for want of a label, so look at its start.
		b.html, b.sniffed = sniffHTML(resp)
	}
	if b.html || mayVary(ctx, resp) {
		// The decision's inputs select the variant a shared cache may
		// serve; one it cannot name (the address, for GeoIP) keeps shared
		// caches out altogether.
		addVary(&resp.Header, st.vary[e.site.Index()]...)
		if e.site.GeoIPDatabase != "" {
			makePrivate(&resp.Header)
		}
	}
	stripHop(&resp.Header)
	b.rewrite = e.active() && b.html && canRewrite(ctx, resp)
	if e.observed() {
		e.responseHeaders(&resp.Header, ctx.Request.Header.Host())
		if !b.html && isScriptDocument(resp) {
			// SVG and XML documents run scripts when opened as documents
			// and are not HTML to the rewriter: trackers are kept out by a
			// CSP that lets nothing load from a third party.
			s.failClosed(e.sm, e.rec, failScriptDocument)
			if e.active() {
				resp.Header.Set("Content-Security-Policy", failClosedCSP)
			}
		}
	}
	if b.rewrite && e.prop != guard.PropagateNone {
		s.propagateCookies(ctx, &resp.Header, e.prop)
	}
	if e.mirror() && b.sniffed == nil {
		b.tail, b.regzip = mirrorTail(ctx, st, e.site, resp)
	}
	resp.Header.CopyTo(&ctx.Response.Header)
	if e.site.DecisionHeader {
		setDecisionHeader(ctx, e.consent, e.shadow)
	}
	// The upstream closing its connection says nothing about the client's.
	ctx.Response.Header.ResetConnectionClose()
	if !ctx.IsHead() {
		return true
	}
	if n := resp.Header.ContentLength(); n >= 0 && len(b.tail) > 0 {
		// What a GET is sent: the page and the mirror; unknown when the
		// page is encoded again.
		if b.regzip {
			ctx.Response.Header.Del("Content-Length")
			if e.accept.Output(coding.Gzip) == coding.Identity {
				ctx.Response.Header.Del("Content-Encoding")
			}
		} else {
			ctx.Response.Header.SetContentLength(n + len(b.tail))
		}
	}
	ctx.Response.SkipBody = true
	return false
}

// sendBody sends the upstream body as b says, and takes resp over: an
// enforced HTML page through the rewriter (rewriteBody), a shadow site's
// page observed (shadowBody), a page with the consent mirror's tail
// (relayMirror, relayBodyTail), anything else as it came.
func (s *Server) sendBody(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, e *enforcer, b *bodyPlan) {
	var err error
	switch {
	case b.rewrite:
		s.rewriteBody(ctx, resp, e, b.sniffed)
	case e.shadow && e.observed() && b.html && canRewrite(ctx, resp):
		s.shadowBody(ctx, resp, e, b.sniffed)
	case b.regzip:
		err = s.relayMirror(ctx, resp, e.accept, b.tail, e.sm.midBody)
	default:
		err = relayBodyTail(ctx, resp, b.sniffed, b.tail, e.sm.midBody)
	}
	if err != nil {
		e.sm.midBody.Inc()
	}
}

// mayVary reports whether the proxy changes, or would change for another
// visitor, a response that is not labelled HTML: an unlabelled body (sniffed
// as HTML for an opted-out visitor), tracking Set-Cookie lines, Link
// preloads.
func mayVary(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) bool {
	h := &resp.Header
	return len(h.ContentType()) == 0 && canRewrite(ctx, resp) || isScriptDocument(resp) ||
		len(h.Peek("Set-Cookie")) > 0 || len(h.Peek("Link")) > 0
}

// isScriptDocument reports whether a response is a document that can run
// scripts without being HTML: SVG and XML (XHTML served as XML).
func isScriptDocument(resp *fasthttp.Response) bool {
	ct, _, _ := bytes.Cut(resp.Header.ContentType(), []byte{';'})
	ct = bytes.TrimSpace(ct)
	return bytes.HasSuffix(bytes.ToLower(ct), []byte("+xml")) && !hasPrefixFold(ct, "application/xhtml+xml") ||
		bytes.EqualFold(ct, []byte("text/xml")) || bytes.EqualFold(ct, []byte("application/xml"))
}

// varyNames lists the request headers a site's decision reads: Sec-GPC and
// Cookie always (GPC, the opt-out cookie, consent strings, CMP cookies),
// DNT where the site reads it, and the trusted country header where region
// modes use one.
func varyNames(site *rules.Site) []string {
	names := []string{"Sec-GPC", "Cookie"}
	if site.DNT {
		names = append(names, "DNT")
	}
	if site.CountryHeader != "" {
		names = append(names, site.CountryHeader)
	}
	if site.Account != nil && site.Account.Header != "" {
		// The registry's answer for that account decides (the account
		// cookie is covered by Cookie).
		names = append(names, site.Account.Header)
	}
	if site.Mirror {
		// The consent mirror follows document responses only
		// (documentRequest).
		names = append(names, "Sec-Fetch-Dest")
	}
	return names
}

// sniffLen is how much of an unlabelled body is read to decide whether it
// is HTML (the WHATWG sniffing algorithm looks at 512 bytes).
const sniffLen = 512

// sniffHTML reads up to sniffLen bytes of an unlabelled body and reports
// whether they look like HTML; the bytes read are returned to be sent first.
func sniffHTML(resp *fasthttp.Response) (bool, []byte) {
	var head []byte
	if resp.IsBodyStream() {
		buf := make([]byte, sniffLen)
		n, _ := io.ReadFull(resp.BodyStream(), buf)
		head = buf[:n]
	} else {
		b := resp.Body()
		head = b[:min(len(b), sniffLen)]
	}
	if coding.Of(resp.Header.ContentEncoding()) != coding.Identity {
		// Compressed and unlabelled: cannot look inside cheaply; treat as
		// HTML, so the decoder and rewriter (or the fail-closed CSP) apply.
		return true, streamedPrefix(resp, head)
	}
	return strings.HasPrefix(http.DetectContentType(head), "text/html"), streamedPrefix(resp, head)
}

// streamedPrefix returns head when it was taken from the stream (and must
// be sent before the rest), nil when the body is in memory anyway.
func streamedPrefix(resp *fasthttp.Response, head []byte) []byte {
	if resp.IsBodyStream() {
		if head == nil {
			return []byte{}
		}
		return head
	}
	return nil
}

// prepareRequest fills req from the visitor's request: end-to-end headers
// only, X-Forwarded-*, and for an opted-out visitor Sec-GPC: 1 and no
// tracking cookies.
func (s *Server) prepareRequest(ctx *fasthttp.RequestCtx, req *fasthttp.Request, host []byte, e *enforcer) {
	in := &ctx.Request
	in.Header.CopyTo(&req.Header)
	req.Header.SetNoDefaultContentType(true)
	if uri := in.Header.RequestURI(); len(uri) > 0 && uri[0] != '/' && uri[0] != '*' {
		req.Header.SetRequestURIBytes(in.URI().RequestURI()) // absolute form → origin form
	}
	// Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1); drop
	// them before the fixed list so "Connection: X-Forwarded-For" cannot
	// remove what the proxy adds below.
	if conn := in.Header.Peek("Connection"); len(conn) > 0 {
		for rest := conn; len(rest) > 0; {
			var f []byte
			// Never Host: "Connection: Host" made the upstream request
			// invalid, a 502 counted against the upstream.
			if f, rest = fieldlist.Next(rest); len(f) > 0 && !bytes.EqualFold(f, []byte("Host")) {
				req.Header.DelBytes(f)
			}
		}
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	peer := peerAddr(ctx)
	trusted := s.trusted(peer)
	dropForwarding(&req.Header, trusted)
	if h := e.site.CountryHeader; h != "" && !trusted {
		// The site's country header says where the visitor is, like the
		// forwarding headers; the origin may believe it as the proxy does
		// not (signals.Input.Trusted).
		req.Header.Del(h)
	}
	var buf [96]byte
	xff := buf[:0]
	for _, prior := range req.Header.PeekAll("X-Forwarded-For") {
		// Kept from a trusted peer; several lines are one list.
		if len(bytes.TrimSpace(prior)) > 0 {
			xff = append(append(xff, prior...), ", "...)
		}
	}
	if peer.IsValid() {
		xff = peer.AppendTo(xff)
	}
	req.Header.Del("X-Forwarded-For") // every line: one goes back
	req.Header.SetBytesV("X-Forwarded-For", xff)
	if len(req.Header.Peek("X-Forwarded-Proto")) == 0 {
		if ctx.IsTLS() {
			req.Header.Set("X-Forwarded-Proto", "https")
		} else {
			req.Header.Set("X-Forwarded-Proto", "http")
		}
	}
	if len(req.Header.Peek("X-Forwarded-Host")) == 0 {
		req.Header.SetBytesV("X-Forwarded-Host", host)
	}
	if len(in.Body()) > 0 {
		req.SetBodyRaw(in.Body())
	}
	if e.shadow && e.observed() {
		e.requestCookies(&in.Header, &req.Header) // counted, not changed
	}
	if !e.active() {
		if e.mirror() && documentRequest(&in.Header) {
			// Identity or gzip, which the mirror can follow (mirrorTail).
			e.accept = coding.Accepted(in.Header.Peek("Accept-Encoding"))
			req.Header.Set("Accept-Encoding", coding.Request(e.accept, coding.SetOf(coding.Gzip)))
		}
		return
	}
	if s.opts.CanaryToken != "" {
		req.Header.Del(CanaryHeader)
	}
	// The GPC spec lets an intermediary add Sec-GPC: 1 for a visitor it
	// knows has that preference; the origin's own code then sees it too.
	req.Header.Del("Sec-GPC")
	req.Header.Set("Sec-GPC", "1")
	e.requestCookies(&in.Header, &req.Header)
	// The rewriter needs the whole, current page: no ranges, no 304s, and
	// a coding it can read.
	for _, h := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
		req.Header.Del(h)
	}
	// Only codings the visitor takes too: what is not rewritten (a script,
	// an image) goes to the visitor as it came.
	e.accept = coding.Accepted(in.Header.Peek("Accept-Encoding"))
	req.Header.Set("Accept-Encoding", coding.Request(e.accept, coding.Decodable))
}

// forwardingHeaders are the request headers that tell an origin who the
// visitor is or how they connected, in lower case with '-' for '_' (CGI
// and many frameworks read X_Forwarded_For as X-Forwarded-For).
var forwardingHeaders = map[string]bool{
	"forwarded": true, "x-forwarded-for": true, "x-forwarded-proto": true, "x-forwarded-host": true,
	"x-forwarded-port": true, "x-forwarded-prefix": true, "x-forwarded-server": true, "x-forwarded-ssl": true,
	"x-forwarded-scheme": true, "x-forwarded-protocol": true, "x-real-ip": true, "true-client-ip": true,
	"x-client-ip": true, "client-ip": true, "cf-connecting-ip": true, "fastly-client-ip": true,
	"x-cluster-client-ip": true, "x-original-forwarded-for": true, "x-originating-ip": true,
	"x-remote-ip": true, "x-remote-addr": true, "x-host": true, "x-original-host": true, "x-url-scheme": true,
	"front-end-https": true, "x-proxyuser-ip": true,
}

// dropForwarding removes forwarding headers a peer may not set: every one
// from an untrusted peer; from a trusted one, the spellings with '_' (no
// load balancer writes those, and a backend may read them as the real
// ones). X-Forwarded-For/-Proto/-Host are set again by prepareRequest.
func dropForwarding(h *fasthttp.RequestHeader, trusted bool) {
	var drop [8][]byte
	n := 0
	var buf [64]byte
	for k := range h.All() {
		if len(k) > len(buf) {
			continue
		}
		under := bytes.IndexByte(k, '_') >= 0
		if trusted && !under {
			continue
		}
		norm := buf[:len(k)]
		for i, c := range k {
			switch {
			case c == '_':
				c = '-'
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			}
			norm[i] = c
		}
		if forwardingHeaders[string(norm)] && n < len(drop) {
			drop[n] = append([]byte(nil), k...)
			n++
		}
	}
	for _, k := range drop[:n] {
		h.DelBytes(k)
	}
	if n == len(drop) {
		dropForwarding(h, trusted) // more than fit: another pass
	}
}

// upstreamError answers 502 or 504 for a failed upstream round trip.
func (s *Server) upstreamError(ctx *fasthttp.RequestCtx, sm *siteMetrics, err error) {
	reason := upstreamReason(err)
	s.metrics.UpstreamErrors.WithLabelValues(sm.name, reason).Inc()
	// Not the error: fasthttp quotes the upstream's bytes in it.
	limitedLog(s.log, &s.logLim, slog.LevelWarn, "upstream request failed", "upstream/"+sm.name+"/"+reason, "site", sm.name, "reason", reason)
	if reason == reasonTimeout {
		plainError(ctx, fasthttp.StatusGatewayTimeout, "the site did not answer in time")
		return
	}
	plainError(ctx, fasthttp.StatusBadGateway, "the site could not be reached")
}

func upstreamReason(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		return reasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return reasonRefused
	case isReset(err), errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return reasonReset
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return reasonTimeout
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return reasonRefused
	}
	return reasonBadResp
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// relayBody passes the upstream body to the client byte for byte, streaming,
// and releases resp when done. A body cut short upstream reaches the client
// visibly cut: a short Content-Length, or no last chunk.
// prefix, when not nil, are bytes already taken from the stream.
//
// It returns errTruncated when a small body read whole broke off (the
// visitor gets a 502); a streamed one that breaks off is cut visibly later.
func relayBody(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, prefix []byte, cut prometheus.Counter) error {
	return relayBodyTail(ctx, resp, prefix, nil, cut)
}

// relayBodyTail is relayBody that sends tail after a body that ended
// whole (the consent mirror, see mirrorTail); never after one cut short.
func relayBodyTail(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, prefix, tail []byte, cut prometheus.Counter) error {
	if resp.IsBodyStream() {
		n := resp.Header.ContentLength()
		if n >= 0 && n <= bufferBelow {
			return bufferBody(ctx, resp, prefix, tail, n)
		}
		if n < 0 {
			n = -1
		} else {
			n += len(tail)
		}
		b := bodyPool.Get().(*upstreamBody)
		b.resp, b.prefix, b.tail, b.cut = resp, prefix, tail, cut
		if prefix == nil && n != 0 {
			// The first read happens before anything is sent: an upstream
			// that breaks off there gets the visitor a 502, where a stream
			// failing at once left an empty reply.
			b.first = chunkPool.Get().(*[]byte)
			m, err := b.resp.BodyStream().Read(*b.first)
			if err != nil && err != io.EOF && m == 0 {
				b.Close() //nolint:errcheck // releases resp
				brokeOff(ctx)
				return errTruncated
			}
			b.prefix = (*b.first)[:m]
			if err == io.EOF {
				b.err = io.EOF
			}
		}
		ctx.Response.SetBodyStream(b, n)
		return nil
	}
	ctx.Response.SetBodyRaw(nil)
	ctx.Response.SwapBody(append(resp.SwapBody(nil), tail...))
	fasthttp.ReleaseResponse(resp)
	return nil
}

// relayReader passes the body r reads (an upstream body Open could not
// decode, as it came) to the client and releases resp and r when done.
// The length is the upstream's, since r reads every byte of the body.
func relayReader(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, r *coding.Reader, cut prometheus.Counter) {
	b := bodyPool.Get().(*upstreamBody)
	b.resp, b.src, b.cut = resp, r, cut
	ctx.Response.SetBodyStream(b, max(resp.Header.ContentLength(), -1))
}

// bufferBelow is the largest body of known length read whole before it is
// sent: headers and body then leave in one write, where streaming costs a
// write for the headers and one per read. Measured with the bench harness
// on 1 KB pages (see bench/RESULTS.md).
const bufferBelow = 256 << 10

// bufferBody reads a small body of known length whole into the response.
// An upstream that breaks off inside it gets the visitor a 502, since
// nothing was sent yet. The response's own body buffer is reused (it stays
// with the connection's RequestCtx), sized once: growing it by appends
// cost more in copies and GC than the saved writes.
func bufferBody(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, prefix, tail []byte, n int) error {
	defer fasthttp.ReleaseResponse(resp)
	defer resp.CloseBodyStream() //nolint:errcheck
	b := responseBuffer(ctx, n+len(tail))
	b = append(b, prefix...)
	m, err := io.ReadFull(resp.BodyStream(), b[len(b):n])
	if err != nil && len(prefix)+m != n {
		ctx.Response.SwapBody(b[:len(b)+m])
		brokeOff(ctx)
		return errTruncated
	}
	ctx.Response.SwapBody(append(b[:len(b)+m], tail...))
	return nil
}

// brokeOff answers a 502 for an upstream body that ended early before
// anything was sent, and closes the connection.
func brokeOff(ctx *fasthttp.RequestCtx) {
	plainError(ctx, fasthttp.StatusBadGateway, "the site's response broke off")
	ctx.SetConnectionClose()
}

// responseBuffer takes the response's body buffer, empty, with room for n
// bytes; give it back with SwapBody.
func responseBuffer(ctx *fasthttp.RequestCtx, n int) []byte {
	b := ctx.Response.SwapBody(nil)[:0]
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	return b
}

// appendWriter appends to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// upstreamBody is the streamed body of an upstream response; Close releases it.
type upstreamBody struct {
	resp   *fasthttp.Response
	src    *coding.Reader // when not nil, read in place of the response's stream
	prefix []byte         // sent before the rest of the stream
	tail   []byte         // sent after the stream, when it ended whole
	first  *[]byte
	err    error
	cut    prometheus.Counter // counts a body that ended early
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	if len(b.prefix) > 0 {
		n := copy(p, b.prefix)
		b.prefix = b.prefix[n:]
		return n, nil
	}
	if b.err == io.EOF && len(b.tail) > 0 {
		// The body ended whole: the tail follows, then EOF.
		b.prefix, b.tail = b.tail, nil
		return b.Read(p)
	}
	if b.err != nil {
		return 0, b.err
	}
	var n int
	var err error
	if b.src != nil {
		n, err = b.src.Read(p)
	} else {
		n, err = b.resp.BodyStream().Read(p)
	}
	if err != nil && err != io.EOF {
		err = errTruncated
		if b.cut != nil {
			b.cut.Inc()
		}
	}
	b.err = err
	if err == io.EOF {
		if n > 0 {
			return n, nil // report EOF (or send the tail) on the next call
		}
		if len(b.tail) > 0 {
			return b.Read(p)
		}
	}
	return n, err
}

// WriteTo copies the stream to w through a pooled 32 KiB buffer (pump), so
// a big body goes out in few large writes rather than fasthttp's 4 KiB ones.
func (b *upstreamBody) WriteTo(w io.Writer) (int64, error) { return pump(w, b) }

// SupportsBodyWriteTo lets fasthttp use WriteTo: it does what Read does.
func (b *upstreamBody) SupportsBodyWriteTo() bool { return true }

// Close releases the upstream response and returns b to its pool; fasthttp
// calls it once, when the body is written or the client went away.
func (b *upstreamBody) Close() error {
	if b.resp != nil {
		b.resp.CloseBodyStream() //nolint:errcheck // nothing to do about it
		fasthttp.ReleaseResponse(b.resp)
		if b.src != nil {
			b.src.Close() //nolint:errcheck
		}
		if b.first != nil {
			chunkPool.Put(b.first)
		}
		*b = upstreamBody{}
		bodyPool.Put(b)
	}
	return nil
}

var bodyPool = sync.Pool{New: func() any { return new(upstreamBody) }}

// errTruncated makes fasthttp stop writing a chunked body without its last
// chunk, so the client sees a truncated response, never a complete-looking one.
var errTruncated = errors.New("upstream body ended early")

func isHTML(resp *fasthttp.Response) bool {
	ct := resp.Header.ContentType()
	if len(ct) == 0 {
		return false // sniffing is done before rewriting; without a type nothing is HTML here
	}
	return hasPrefixFold(ct, "text/html") || hasPrefixFold(ct, "application/xhtml+xml")
}

func hasPrefixFold(b []byte, p string) bool {
	b = bytes.TrimLeft(b, " \t")
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

// canRewrite reports whether a response has a full body to rewrite.
func canRewrite(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) bool {
	switch code := resp.StatusCode(); {
	case code == fasthttp.StatusPartialContent, code == fasthttp.StatusNoContent,
		code == fasthttp.StatusNotModified, code < 200:
		return false
	}
	return !ctx.IsHead()
}

func stripHop(h *fasthttp.ResponseHeader) {
	if conn := h.Peek("Connection"); len(conn) > 0 {
		for rest := conn; len(rest) > 0; {
			var f []byte
			if f, rest = fieldlist.Next(rest); len(f) > 0 && !bytes.EqualFold(f, []byte("close")) && !bytes.EqualFold(f, []byte("keep-alive")) {
				h.DelBytes(f)
			}
		}
	}
	for _, k := range hopHeaders {
		if k != "Transfer-Encoding" && k != "Connection" {
			h.Del(k)
		}
	}
}

// addVary adds header names to Vary unless they are there already. It
// allocates nothing when Vary already names them.
func addVary(h *fasthttp.ResponseHeader, names ...string) {
	v := h.Peek("Vary")
	if bytes.Equal(bytes.TrimSpace(v), []byte("*")) {
		return
	}
	var buf [128]byte
	out := append(buf[:0], v...)
	for _, n := range names {
		if containsToken(v, n) {
			continue
		}
		if len(out) > 0 {
			out = append(out, ", "...)
		}
		out = append(out, n...)
	}
	if len(out) != len(v) {
		h.SetBytesV("Vary", out)
	}
}

// containsToken reports whether a comma-separated header value lists tok
// (case-insensitive).
func containsToken(list []byte, tok string) bool {
	for len(list) > 0 {
		var f []byte
		if f, list = fieldlist.Next(list); len(f) == len(tok) && strings.EqualFold(string(f), tok) {
			return true
		}
	}
	return false
}

// midBody counts an upstream that broke off inside an enforced body, in
// the metric and the receipt.
func (s *Server) midBody(e *enforcer) {
	e.sm.midBody.Inc()
	if e.rec != nil {
		e.rec.AddFailClosed(reasonMidBody)
	}
}
