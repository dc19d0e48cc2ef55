package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/consentgate/consentgate/proxy/internal/coding"
	"github.com/consentgate/consentgate/proxy/internal/respcache"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
)

// chunkSize is how much of an upstream body is read and rewritten at a
// time: large chunks keep the per-chunk cost of streaming low.
const chunkSize = 32 << 10

// writerPool keeps rewriters warm: a Writer keeps its compiled policy (the
// stub and its hash) across Reset for the same rule set, site and denial.
var writerPool = sync.Pool{New: func() any { return rewrite.NewWriter(io.Discard, rewrite.Policy{}) }}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// rewriteBody sends an HTML body through the rewriter to the client:
// decoded when it is encoded, rewritten and, when it came gzip to a client
// that takes gzip, encoded again (coding.Set.Output). A small body (known
// length up to bufferBelow, or in memory) is done whole (rewriteWhole), a
// larger one streams (rewriteStreamed). Headers are fixed first: no
// length, strong validators no longer hold, ranges are off. prefix, when
// not nil, are bytes already taken from the upstream stream.
func (s *Server) rewriteBody(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, e *enforcer, prefix []byte) {
	h := &ctx.Response.Header
	h.Del("Accept-Ranges")
	weakenETag(h)
	rw := writerPool.Get().(*rewrite.Writer)
	pol := rewritePolicy(ctx, e, rw)
	enc := coding.Of(resp.Header.ContentEncoding())
	if !resp.IsBodyStream() {
		s.rewriteWhole(ctx, resp, e, rw, pol, enc, resp.Body())
		return
	}
	if n := resp.Header.ContentLength(); n >= 0 && n <= bufferBelow {
		raw := rawPool.Get().(*[]byte)
		defer rawPool.Put(raw)
		b, err := readWhole((*raw)[:0], resp, prefix, n)
		*raw = b[:0]
		if err != nil {
			putWriter(rw, pol)
			fasthttp.ReleaseResponse(resp)
			s.midBody(e)
			brokeOff(ctx)
			return
		}
		s.rewriteWhole(ctx, resp, e, rw, pol, enc, b)
		return
	}
	s.rewriteStreamed(ctx, resp, e, rw, pol, enc, prefix)
}

// rewritePolicy returns the rewriting policy of the page: the guard (or
// the stub) with its hash allowed by the page's CSP, and what the site
// shows the visitor (visitorPolicy). rw, a pooled writer, is reset to it:
// it keeps the policy compiled, the stub's hash among it.
func rewritePolicy(ctx *fasthttp.RequestCtx, e *enforcer, rw *rewrite.Writer) rewrite.Policy {
	h := &ctx.Response.Header
	pol := e.policy()
	var hash string
	pol.Head, hash, pol.Guard = guardHead(e, h)
	visitorPolicy(ctx, e, &pol)
	rw.Reset(io.Discard, pol)
	if pol.Head == nil {
		hash = rw.StubHash()
	}
	if hash != "" {
		// The guard or the stub must be allowed to run under the page's
		// own CSP.
		allowScriptHash(h, hash)
	}
	return pol
}

// putWriter gives a pooled rewriter back, holding on to no page but
// keeping pol compiled.
func putWriter(rw *rewrite.Writer, pol rewrite.Policy) {
	rw.Reset(io.Discard, pol)
	writerPool.Put(rw)
}

// weakenETag makes a strong ETag weak: the body the proxy sends is not the
// upstream's byte for byte any more.
func weakenETag(h *fasthttp.ResponseHeader) {
	if et := h.Peek("ETag"); len(et) > 0 && !bytes.HasPrefix(et, []byte("W/")) {
		h.SetBytesV("ETag", append([]byte("W/"), et...))
	}
}

// rawPool holds buffers for small bodies read whole.
var rawPool = sync.Pool{New: func() any { b := make([]byte, 0, bufferBelow); return &b }}

// readWhole appends prefix and the rest of a body of length n (prefix
// included) to dst, and closes the stream; an error means the upstream
// broke off.
func readWhole(dst []byte, resp *fasthttp.Response, prefix []byte, n int) ([]byte, error) {
	defer resp.CloseBodyStream() //nolint:errcheck
	dst = append(dst, prefix...)
	if len(dst) >= n {
		return dst, nil
	}
	m, err := io.ReadFull(resp.BodyStream(), dst[len(dst):n])
	return dst[:len(dst)+m], err
}

// rewriteWhole rewrites a small body whole before anything is sent: one
// write with a Content-Length instead of a chunk per read. raw is the body
// as the upstream sent it, in enc, and is kept: when the page loses
// nothing, the upstream's own bytes go out (no encoding again); when it
// does not decode, they go out under the fail-closed CSP. rewriteWhole
// takes resp and rw.
func (s *Server) rewriteWhole(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, e *enforcer, rw *rewrite.Writer, pol rewrite.Policy, enc coding.Encoding, raw []byte) {
	defer fasthttp.ReleaseResponse(resp)
	defer putWriter(rw, pol)
	h := &ctx.Response.Header
	h.Del("Content-Length")
	// Room for the page, the stub and neutralised attributes; a page
	// decoded grows by about four.
	size := len(raw) + len(raw)/8 + 8<<10
	if enc != coding.Identity {
		size = 4*len(raw) + 16<<10
	}
	// Straight into the response buffer: no intermediate buffer that grows
	// with every page (a third of an opted-out gzip page's bytes).
	start := time.Now()
	key, cacheable := s.cache.Key(raw, &pol, enc.Header(), uint8(e.accept))
	if cacheable {
		if ent, ok := s.cache.Get(key); ok {
			s.sendCached(ctx, e, pol.Set, ent, time.Since(start))
			return
		}
	}
	w := appendWriter{responseBuffer(ctx, size)}
	rw.Reset(&w, pol)
	in, err := s.decodeInto(rw, enc, raw)
	if err == nil {
		err = rw.Close()
	}
	switch {
	case errors.Is(err, coding.ErrTooLarge):
		ctx.Response.SwapBody(w.b)
		s.metrics.UpstreamErrors.WithLabelValues(e.sm.name, reasonTooLarge).Inc()
		if e.rec != nil {
			e.rec.AddFailClosed(reasonTooLarge)
		}
		brokeOff(ctx)
		return
	case err != nil:
		// Not in the coding it says: the upstream's bytes as they came,
		// under the fail-closed CSP.
		s.failClosed(e.sm, e.rec, failUndecodable)
		h.Set("Content-Security-Policy", failClosedCSP)
		ctx.Response.SwapBody(append(w.b[:0], raw...))
		return
	}
	s.countRewrite(e.sm, e.site, rw, in, time.Since(start), e.rec)
	page := w.b
	out := e.accept.Output(enc)
	if len(rw.Removed()) == 0 && (!rw.Changed() || len(pol.Head) == 0 && len(pol.Tail) == 0) {
		// Nothing removed, and no guard, signal script or notice to
		// carry: the stub has nothing to stand in for, so the page goes
		// out as the upstream sent it, in a coding the visitor takes, not
		// encoded again.
		if e.accept.Has(enc) {
			ctx.Response.SwapBody(append(w.b[:0], raw...))
			s.store(cacheable, key, ctx, enc, pol.Site, rw, in)
			return
		}
		page = withoutStub(page, rewrite.Stub(pol), in)
	}
	switch out {
	case coding.Identity:
		h.Del("Content-Encoding")
		ctx.Response.SwapBody(page)
	default:
		// raw is read; its buffer takes the encoding.
		body := coding.Append(raw[:0], out, page)
		h.Set("Content-Encoding", out.Header())
		ctx.Response.SwapBody(append(w.b[:0], body...))
	}
	s.store(cacheable, key, ctx, out, pol.Site, rw, in)
}

// store keeps the body just set on ctx, sent in out, for the next visitor
// whose page has the same key: a copy (the response's buffer goes back to
// fasthttp), with what the rewriter removed and read so that a hit counts
// it again (sendCached).
func (s *Server) store(cacheable bool, key respcache.Key, ctx *fasthttp.RequestCtx, out coding.Encoding, site *rules.Site, rw *rewrite.Writer, in int64) {
	if !cacheable {
		return
	}
	st := rw.Stats()
	ent := &respcache.Entry{
		Body: bytes.Clone(ctx.Response.Body()), Encoding: out.Header(), Read: in,
		Removed:  respcache.AppendRemovals(nil, site, rw.Removed()),
		Oversize: st.Oversize, Unrecorded: st.Unrecorded,
	}
	s.cache.Set(key, ent)
}

// sendCached sends a stored page: no decoding, rewriting or encoding. The
// metrics and the receipt count what the page's first rewrite removed, as
// if it had been rewritten again; the rewrite histogram gets the time the
// lookup took.
func (s *Server) sendCached(ctx *fasthttp.RequestCtx, e *enforcer, set *rules.Set, ent *respcache.Entry, spent time.Duration) {
	h := &ctx.Response.Header
	if ent.Encoding == "" {
		h.Del("Content-Encoding")
	} else {
		h.Set("Content-Encoding", ent.Encoding)
	}
	ctx.Response.SetBodyRaw(ent.Body) // shared and never modified
	e.sm.bytes.Add(float64(ent.Read))
	e.sm.rewrite.Observe(spent.Seconds())
	for _, rm := range ent.Removed {
		s.metrics.ElementsRemoved.WithLabelValues(e.sm.name, rm.Category.String(), rm.Vendor, rm.Action.String()).Add(float64(rm.Count))
	}
	if ent.Oversize > 0 {
		s.failClosed(e.sm, nil, failOversize)
	}
	if rec := e.rec; rec != nil {
		for _, rm := range ent.Removed {
			if v := set.VendorByID(rm.Vendor); v != nil {
				rec.AddRemoval(v, rm.Category, rm.Action, rm.Element, rm.Count)
			}
		}
		rec.Oversize += ent.Oversize
		rec.RemovedOther += ent.Unrecorded
		rec.HTML = true
	}
}

// withoutStub returns page, the rewriter's output of an input of n bytes
// from which it removed nothing, without the stub it inserted: the one
// place stub occurs, where page is the input and the stub. Otherwise (the
// page holds the stub's text itself) page is returned as it is: the stub
// is harmless, cutting the wrong copy would not be.
func withoutStub(page, stub []byte, n int64) []byte {
	if len(stub) == 0 || int64(len(page)) != n+int64(len(stub)) {
		return page
	}
	i := bytes.Index(page, stub)
	if i < 0 || bytes.Contains(page[i+1:], stub) {
		return page
	}
	return append(page[:i], page[i+len(stub):]...)
}

// decodeInto writes raw, decoded from enc, to w and returns how many
// decoded bytes it wrote.
func (s *Server) decodeInto(w io.Writer, enc coding.Encoding, raw []byte) (int64, error) {
	if enc == coding.Identity {
		n, err := w.Write(raw)
		return int64(n), err
	}
	r, err := s.decoders.OpenBytes(enc, raw)
	defer r.Close() //nolint:errcheck
	if err != nil {
		return 0, err
	}
	return pump(w, r)
}

// pump copies src to dst through a pooled chunk: not io.CopyBuffer, which
// would use a WriterTo or ReaderFrom of theirs and skip the buffer.
func pump(dst io.Writer, src io.Reader) (int64, error) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			m, werr := dst.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// rewriteStreamed streams a body of unknown or large size through the
// rewriter, 32 KiB at a time. A body that does not decode from its first
// bytes goes out as it came, under the fail-closed CSP (coding.Open keeps
// what it read of it); one that breaks later is cut visibly. It takes
// resp and rw.
func (s *Server) rewriteStreamed(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, e *enforcer, rw *rewrite.Writer, pol rewrite.Policy, enc coding.Encoding, prefix []byte) {
	var src io.Reader = resp.BodyStream()
	if len(prefix) > 0 {
		src = io.MultiReader(bytes.NewReader(prefix), src)
	}
	h := &ctx.Response.Header
	dec, err := s.decoders.Open(enc, src)
	if err != nil {
		putWriter(rw, pol)
	}
	if err != nil && !undecodable(err) {
		// The upstream broke off before the page's first byte; nothing
		// was sent yet.
		dec.Close()            //nolint:errcheck
		resp.CloseBodyStream() //nolint:errcheck
		fasthttp.ReleaseResponse(resp)
		s.midBody(e)
		brokeOff(ctx)
		return
	}
	if err != nil {
		s.failClosed(e.sm, e.rec, failUndecodable)
		h.Set("Content-Security-Policy", failClosedCSP)
		relayReader(ctx, resp, dec, e.sm.midBody)
		return
	}
	h.Del("Content-Length")
	// The stub goes into the head before the rewriter knows whether the
	// page loses anything: a streamed page keeps it.
	out := e.accept.Output(enc)
	if out == coding.Identity {
		h.Del("Content-Encoding")
	} else {
		h.Set("Content-Encoding", out.Header())
	}
	rs := &rewriteStream{resp: resp, s: s, sm: e.sm, dec: dec, pol: pol, rec: e.rec}
	rs.enc.Reset(out, &rs.out)
	rs.rw = rw
	rs.rw.Reset(&rs.enc, pol)
	if rs.rec != nil {
		// The stream sends the receipt when the body is done.
		rs.rec.Status, e.rec = resp.StatusCode(), nil
	}
	ctx.Response.SetBodyStream(rs, -1)
}

// undecodable reports whether an error of coding's Open says the body is
// not in its coding (or in one the proxy cannot read), so it goes out as
// it came under the fail-closed CSP.
func undecodable(err error) bool {
	return errors.Is(err, coding.ErrUndecodable) || errors.Is(err, coding.ErrUnknown)
}

// failClosedCSP is served with an opted-out page the proxy could not read:
// the page keeps working from its own origin, trackers cannot load.
const failClosedCSP = "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; frame-src 'self'; connect-src 'self'; img-src 'self' data: blob:"

// rewriteStream is the body of a rewritten response, read by fasthttp as it
// writes to the client.
type rewriteStream struct {
	s        *Server
	sm       *siteMetrics
	resp     *fasthttp.Response
	dec      *coding.Reader // the upstream body, decoded
	enc      coding.Writer  // the rewritten body, encoded for the client
	rw       *rewrite.Writer
	pol      rewrite.Policy
	rec      *receipt.Entry // this response's receipt, when the stream sends it
	finished bool           // the rewriter saw the whole body
	out      bytes.Buffer
	chunk    *[]byte
	in       int64
	spent    time.Duration
	err      error
}

// WriteTo hands fasthttp each rewritten chunk whole: one HTTP chunk and one
// flush per 32 KiB read from upstream instead of one per 4 KiB.
func (r *rewriteStream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for r.out.Len() == 0 {
			if r.err == io.EOF {
				return total, nil
			}
			if r.err != nil {
				return total, r.err
			}
			r.fill()
		}
		n, err := r.out.WriteTo(w)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// SupportsBodyWriteTo lets fasthttp use WriteTo: it does what Read does.
func (r *rewriteStream) SupportsBodyWriteTo() bool { return true }

func (r *rewriteStream) Read(p []byte) (int, error) {
	for r.out.Len() == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	return r.out.Read(p)
}

// fill reads one chunk from upstream and rewrites it into r.out. A panic
// (a bug) ends the body visibly cut, never with the raw rest of the page.
func (r *rewriteStream) fill() {
	defer func() {
		if p := recover(); p != nil {
			r.s.metrics.Panics.Inc()
			limitedLog(r.s.log, &r.s.logLim, slog.LevelError, "panic while rewriting a body", "panic/rewrite", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			r.out.Reset()
			r.err = errTruncated
		}
	}()
	if r.chunk == nil {
		r.chunk = chunkPool.Get().(*[]byte)
	}
	n, err := r.dec.Read(*r.chunk)
	start := time.Now()
	if n > 0 {
		r.in += int64(n)
		if _, werr := r.rw.Write((*r.chunk)[:n]); werr != nil && err == nil {
			err = werr
		}
	}
	switch {
	case err == io.EOF:
		err = r.rw.Close()
		if err == nil {
			err = r.enc.Close()
		}
		if err == nil {
			err = io.EOF
		}
	}
	r.spent += time.Since(start)
	if err == io.EOF {
		r.finish() // after the last chunk's time is counted
	}
	if err != nil && err != io.EOF {
		reason := reasonMidBody
		if errors.Is(err, coding.ErrTooLarge) {
			reason = reasonTooLarge
		}
		r.s.metrics.UpstreamErrors.WithLabelValues(r.sm.name, reason).Inc()
		if r.rec != nil {
			r.rec.AddFailClosed(reason)
		}
		err = errTruncated
	}
	r.err = err
}

// finish records what the rewriter did.
func (r *rewriteStream) finish() {
	r.s.countRewrite(r.sm, r.pol.Site, r.rw, r.in, r.spent, r.rec)
	r.finished = true
}

// countRewrite counts what the rewriter did with one body in the metrics
// and the receipt: enforced, or observed in shadow mode.
func (s *Server) countRewrite(sm *siteMetrics, site *rules.Site, rw *rewrite.Writer, in int64, spent time.Duration, rec *receipt.Entry) {
	sm.bytes.Add(float64(in))
	sm.rewrite.Observe(spent.Seconds())
	for _, rm := range rw.Removed() {
		s.metrics.ElementsRemoved.WithLabelValues(sm.name, site.Category(rm.Vendor).String(), rm.Vendor.ID, rm.Action.String()).Add(float64(rm.Count))
	}
	if rw.Stats().Oversize > 0 {
		// Past a bound the rewriter decided by its fail-closed rule; the
		// receipt has the count (receiptRemovals).
		s.failClosed(sm, nil, failOversize)
	}
	receiptRemovals(rec, site, rw)
}

// Close releases the upstream response and the decoders; fasthttp calls it
// when the body is written or the client went away.
func (r *rewriteStream) Close() error {
	if r.rec != nil {
		if !r.finished && r.rw != nil {
			// The client went away or the body broke off: what was seen.
			receiptRemovals(r.rec, r.pol.Site, r.rw)
			r.rec.Incomplete = true
		}
		r.s.opts.Receipts.Add(r.rec)
		r.rec = nil
	}
	if r.rw != nil {
		r.rw.Reset(io.Discard, r.pol) // drop references to this page, keep the compiled policy
		writerPool.Put(r.rw)
		r.rw = nil
	}
	if r.chunk != nil {
		chunkPool.Put(r.chunk)
		r.chunk = nil
	}
	r.enc.Abort()
	if r.dec != nil {
		r.dec.Close() //nolint:errcheck
		r.dec = nil
	}
	if r.resp != nil {
		r.resp.CloseBodyStream() //nolint:errcheck
		fasthttp.ReleaseResponse(r.resp)
		r.resp = nil
	}
	return nil
}

// cspAllowHash adds a script hash source to the directive that governs
// script elements (script-src-elem, else script-src, else default-src) of
// each policy of a CSP header value. A directive that allows
// 'unsafe-inline' without any nonce or hash is left alone: the script may
// run already, and a hash would switch 'unsafe-inline' off (CSP2 and
// later ignore 'unsafe-inline' next to a hash or nonce).
func cspAllowHash(csp []byte, hash string) []byte {
	policies := bytes.Split(csp, []byte{','})
	for pi, p := range policies {
		dirs := bytes.Split(p, []byte{';'})
		target, rank := -1, 0
		for i, d := range dirs {
			name, _, _ := bytes.Cut(bytes.TrimSpace(d), []byte{' '})
			r := 0
			switch {
			case bytes.EqualFold(name, []byte("script-src-elem")):
				r = 3
			case bytes.EqualFold(name, []byte("script-src")):
				r = 2
			case bytes.EqualFold(name, []byte("default-src")):
				r = 1
			}
			// The first of a repeated directive counts (CSP3 §2.2.1).
			if r > rank {
				target, rank = i, r
			}
		}
		if target < 0 {
			continue
		}
		d := dirs[target]
		lower := bytes.ToLower(d)
		if bytes.Contains(lower, []byte("'unsafe-inline'")) && !bytes.Contains(lower, []byte("'nonce-")) && !bytes.Contains(lower, []byte("'sha")) {
			continue
		}
		dirs[target] = append(append(bytes.TrimRight(append([]byte(nil), d...), " "), ' '), hash...)
		policies[pi] = bytes.Join(dirs, []byte{';'})
	}
	return bytes.Join(policies, []byte{','})
}
