package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"
)

// chunkSize is how much of an upstream body is read and rewritten at a
// time: large chunks keep the per-chunk cost of streaming low.
const chunkSize = 32 << 10

// writerPool keeps rewriters warm: a Writer keeps its compiled policy (the
// stub and its hash) across Reset for the same rule set, site and denial.
var writerPool = sync.Pool{New: func() any { return rewrite.NewWriter(io.Discard, rewrite.Policy{}) }}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// errDecodedTooLarge stops a decompression bomb.
var errDecodedTooLarge = errors.New("decoded body exceeds the limit")

// rewriteBody streams an HTML body through the rewriter to the client: the
// body is decoded when compressed, rewritten chunk by chunk and, for gzip,
// re-encoded. Headers are fixed first: the length is unknown (chunked),
// strong validators no longer hold, ranges are off.
// prefix, when not nil, are bytes already taken from the upstream stream.
func (s *Server) rewriteBody(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, e *enforcer, prefix []byte) {
	h := &ctx.Response.Header
	h.Del("Accept-Ranges")
	if et := h.Peek("ETag"); len(et) > 0 && !bytes.HasPrefix(et, []byte("W/")) {
		h.SetBytesV("ETag", append([]byte("W/"), et...))
	}
	var src io.Reader
	if resp.IsBodyStream() {
		src = resp.BodyStream()
		if len(prefix) > 0 {
			src = io.MultiReader(bytes.NewReader(prefix), src)
		}
	} else {
		src = bytes.NewReader(resp.Body())
	}
	rs := &rewriteStream{resp: resp, s: s, sm: e.sm}
	enc := string(bytes.ToLower(bytes.TrimSpace(resp.Header.ContentEncoding())))
	n := resp.Header.ContentLength()
	// A small gzip body is read whole first and kept: when the rewriter
	// removes nothing, the upstream's own bytes go out and no re-encoding
	// is done.
	var raw *[]byte
	if (enc == "gzip" || enc == "x-gzip") && n >= 0 && n <= bufferBelow && resp.IsBodyStream() && len(prefix) == 0 {
		raw = rawPool.Get().(*[]byte)
		defer rawPool.Put(raw)
		b := (*raw)[:n]
		if _, err := io.ReadFull(src, b); err != nil {
			rs.Close() //nolint:errcheck // releases the upstream response
			s.metrics.UpstreamErrors.WithLabelValues(e.sm.name, reasonMidBody).Inc()
			if e.rec != nil {
				e.rec.AddFailClosed(reasonMidBody)
			}
			brokeOff(ctx)
			return
		}
		*raw = b
		src = bytes.NewReader(b)
	}
	var err error
	switch enc {
	case "", "identity":
		rs.src = src
	case "gzip", "x-gzip":
		zr := gzipReaderPool.Get().(*gzip.Reader)
		if err = zr.Reset(src); err != nil {
			releaseGzipReader(zr)
		} else {
			rs.src, rs.gzr = zr, zr
			if e.clientGzip && raw == nil {
				rs.gz = gzipWriterPool.Get().(*gzip.Writer)
				rs.gz.Reset(&rs.out)
			}
		}
	case "br":
		rs.br = brotliReaderPool.Get().(*brotli.Reader)
		rs.br.Reset(src) //nolint:errcheck // always nil
		rs.src = rs.br
	case "zstd":
		zr, _ := s.zstd.Get().(*zstd.Decoder)
		if zr == nil {
			// One goroutine: Reset decodes synchronously and starts none,
			// so a pooled decoder the GC drops leaks nothing.
			zr, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(s.opts.MaxDecodedBody)))
		}
		if err == nil {
			if err = zr.Reset(src); err == nil {
				rs.src, rs.zstd, rs.zstdPool = zr, zr, &s.zstd
			} else {
				zr.Reset(nil) //nolint:errcheck // drops src
				s.zstd.Put(zr)
			}
		}
	case "deflate":
		// HTTP's deflate is zlib-wrapped (RFC 9110 §8.4.1.2); some servers
		// send raw deflate. Tell them apart by the zlib header.
		br := bufio.NewReaderSize(src, 512)
		if h, _ := br.Peek(2); len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			var zr io.ReadCloser
			if zr, err = zlib.NewReader(br); err == nil {
				rs.src, rs.decoder = zr, zr
			}
		} else {
			fr := flate.NewReader(br)
			rs.src, rs.decoder = fr, fr
		}
	default:
		err = errors.New("unknown content-encoding")
	}
	if err != nil {
		// Cannot read the body: fail closed for trackers without breaking
		// the page. The bytes go through as they are, under a CSP that lets
		// nothing load from a third party.
		s.failClosed(e.sm, e.rec, reasonBadDecode)
		h.Set("Content-Security-Policy", failClosedCSP)
		if relayBody(ctx, resp, prefix, e.sm.midBody) != nil {
			s.metrics.UpstreamErrors.WithLabelValues(e.sm.name, reasonMidBody).Inc()
		}
		return
	}
	if rs.gz == nil && raw == nil {
		h.Del("Content-Encoding")
	}
	h.Del("Content-Length")
	if enc != "" && enc != "identity" {
		// The cap is against decompression bombs; a plain body streams
		// whatever its size.
		rs.src = &capReader{r: rs.src, n: s.opts.MaxDecodedBody}
	}
	var sink io.Writer = &rs.out
	if rs.gz != nil {
		sink = rs.gz
	}
	pol := rewrite.Policy{Set: e.set, Site: e.site, Deny: e.deny, Stub: true}
	var hash string
	pol.Head, hash, pol.Guard = guardHead(e, h)
	visitorPolicy(ctx, e, &pol)
	rs.rw = writerPool.Get().(*rewrite.Writer)
	rs.rw.Reset(sink, pol)
	rs.pol = pol
	rs.rec = e.rec
	if pol.Head == nil {
		hash = rs.rw.StubHash()
	}
	if hash != "" {
		// The guard or the stub must be allowed to run under the page's
		// own CSP.
		allowScriptHash(h, hash)
	}
	switch {
	case raw != nil:
		s.rewriteWhole(ctx, rs, e, *raw, 4*len(*raw)+16<<10)
		return
	case rs.gz == nil && (enc == "" || enc == "identity") && n >= 0 && n <= bufferBelow:
		// Room for the page, the stub and neutralised attributes.
		s.rewriteWhole(ctx, rs, e, nil, n+n/8+8<<10)
		return
	}
	if rs.rec != nil {
		// The stream sends the receipt when the body is done.
		rs.rec.Status, e.rec = resp.StatusCode(), nil
	}
	ctx.Response.SetBodyStream(rs, -1)
}

// rawPool holds buffers for small compressed bodies read whole.
var rawPool = sync.Pool{New: func() any { b := make([]byte, 0, bufferBelow); return &b }}

// rewriteWhole rewrites a small page whole before anything is sent: one
// write with a Content-Length instead of a chunk per read, and an upstream
// that breaks off gets a 502 since nothing was sent. size is the buffer to
// start with. raw, when not nil, is the gzip body as the upstream sent it:
// served as it is when nothing was removed (no re-encoding), else the
// rewritten page is gzip-encoded for a client that takes it.
func (s *Server) rewriteWhole(ctx *fasthttp.RequestCtx, rs *rewriteStream, e *enforcer, raw []byte, size int) {
	w := appendWriter{responseBuffer(ctx, size)}
	// Straight into the response buffer: no intermediate buffer that grows
	// with every page (a third of an opted-out gzip page's bytes).
	rs.rw.Reset(&w, rs.pol)
	_, err := rs.WriteTo(io.Discard)
	removed := len(rs.rw.Removed())
	guarded := len(rs.pol.Head) > 0 && rs.rw.Changed()
	rs.rec = nil // forward sends it
	rs.Close()   //nolint:errcheck // releases the upstream response and the writer
	switch {
	case err != nil:
		ctx.Response.SwapBody(w.b)
		brokeOff(ctx)
	case raw == nil:
		ctx.Response.SwapBody(w.b)
	case removed == 0 && !guarded && len(rs.pol.Tail) == 0:
		// Nothing to enforce in this page and no guard: skip re-encoding.
		ctx.Response.SwapBody(append(w.b[:0], raw...))
	case e.clientGzip:
		gz := gzipWriterPool.Get().(*gzip.Writer)
		out := appendWriter{raw[:0]} // raw is read; its buffer takes the encoding
		gz.Reset(&out)
		gz.Write(w.b) //nolint:errcheck // appends to memory
		gz.Close()    //nolint:errcheck
		gz.Reset(io.Discard)
		gzipWriterPool.Put(gz)
		ctx.Response.SwapBody(append(w.b[:0], out.b...))
	default:
		ctx.Response.Header.Del("Content-Encoding")
		ctx.Response.SwapBody(w.b)
	}
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
	src      io.Reader
	decoder  io.Closer
	gzr      *gzip.Reader // pooled; released on Close
	br       *brotli.Reader
	zstd     *zstd.Decoder
	zstdPool *sync.Pool
	gz       *gzip.Writer
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

// gzipReaderPool keeps gzip readers: a new one allocates its 32 KiB
// window and Huffman tables (36% of the bytes an opted-out gzip page
// allocated, BenchmarkOptedOutGzipPage).
var gzipReaderPool = sync.Pool{New: func() any { return new(gzip.Reader) }}

// releaseGzipReader drops zr's reference to its source and pools it.
func releaseGzipReader(zr *gzip.Reader) {
	zr.Reset(eofReader{}) //nolint:errcheck // always io.EOF: only drops the old source
	gzipReaderPool.Put(zr)
}

// brotliReaderPool keeps brotli readers: Reset keeps their window and
// Huffman tables (a new one allocated 2.3 times the bytes of the rest of
// an opted-out page, BenchmarkOptedOutBrotliPage).
var brotliReaderPool = sync.Pool{New: func() any { return brotli.NewReader(eofReader{}) }}

// eofReader is an empty reader with no state, safe to share.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// gzipWriterPool keeps gzip writers: a new one allocates ~900 KiB.
var gzipWriterPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // re-encoding dominates an opted-out gzip page
	return w
}}

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
	n, err := r.src.Read(*r.chunk)
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
		if err == nil && r.gz != nil {
			err = r.gz.Close()
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
		if errors.Is(err, errDecodedTooLarge) {
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
	if r.gz != nil {
		r.gz.Reset(io.Discard)
		gzipWriterPool.Put(r.gz)
		r.gz = nil
	}
	if r.decoder != nil {
		r.decoder.Close() //nolint:errcheck
	}
	if r.gzr != nil {
		releaseGzipReader(r.gzr)
		r.gzr = nil
	}
	if r.br != nil {
		r.br.Reset(eofReader{}) //nolint:errcheck // drops the source
		brotliReaderPool.Put(r.br)
		r.br = nil
	}
	if r.zstd != nil {
		r.zstd.Reset(nil) //nolint:errcheck // drops the source; the decoder is reused
		r.zstdPool.Put(r.zstd)
		r.zstd = nil
	}
	if r.resp != nil {
		r.resp.CloseBodyStream() //nolint:errcheck
		fasthttp.ReleaseResponse(r.resp)
		r.resp = nil
	}
	return nil
}

// capReader fails once more than n bytes were read.
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, errDecodedTooLarge
	}
	return n, err
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
