package proxy

import (
	"errors"
	"io"
	"time"

	"github.com/consentgate/consentgate/proxy/internal/coding"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/valyala/fasthttp"
)

// Shadow mode: the visitor gets the upstream's bytes, and the rewriter reads
// a copy of the HTML to count what enforcing would have removed, in the same
// metrics and receipts. A body read whole (up to bufferBelow) is observed
// before it is sent; a streamed one as it passes, and a compressed streamed
// one from a copy of up to shadowMaxCompressed bytes decoded when the body
// is done.

// shadowMaxCompressed bounds the copy of a compressed streamed body kept for
// observation; past it the body is not observed (the receipt says
// incomplete).
const shadowMaxCompressed = 16 << 20

// shadowBody relays an HTML body unchanged and observes it.
func (s *Server) shadowBody(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, e *enforcer, prefix []byte) {
	enc := coding.Of(resp.Header.ContentEncoding())
	n := resp.Header.ContentLength()
	if !resp.IsBodyStream() || n >= 0 && n <= bufferBelow {
		if relayBody(ctx, resp, prefix, e.sm.midBody) != nil {
			s.midBody(e)
			return
		}
		s.observe(e, enc, ctx.Response.Body())
		return
	}
	ss := &shadowStream{s: s, sm: e.sm, rec: e.rec, enc: enc, d: e.decision}
	ss.ub = upstreamBody{resp: resp, prefix: prefix}
	if enc == coding.Identity {
		ss.rw = writerPool.Get().(*rewrite.Writer)
		ss.rw.Reset(io.Discard, ss.d.policy())
	}
	if ss.rec != nil {
		ss.rec.Status, e.rec = resp.StatusCode(), nil // the stream sends it
	}
	if n < 0 {
		n = -1
	}
	ctx.Response.SetBodyStream(ss, n)
}

// observe runs a whole body through the rewriter, decoded, and counts what
// it would have removed.
func (s *Server) observe(e *enforcer, enc coding.Encoding, body []byte) {
	start := time.Now()
	rw := writerPool.Get().(*rewrite.Writer)
	pol := e.policy()
	rw.Reset(io.Discard, pol)
	defer func() {
		rw.Reset(io.Discard, pol)
		writerPool.Put(rw)
	}()
	in, err := s.decodeInto(rw, enc, body)
	if undecodable(err) {
		// Enforcing would serve it under the fail-closed CSP.
		s.failClosed(e.sm, e.rec, failUndecodable)
		return
	}
	if err == nil {
		err = rw.Close()
	}
	if err != nil {
		reason := reasonMidBody
		if errors.Is(err, coding.ErrTooLarge) {
			reason = reasonTooLarge
		}
		if e.rec != nil {
			e.rec.AddFailClosed(reason)
			e.rec.Incomplete = true
		}
	}
	s.countRewrite(e.sm, e.site, rw, in, time.Since(start), e.rec)
}

// shadowStream relays a streamed upstream body byte for byte and observes
// it: an identity body through the rewriter as it passes, a compressed one
// from a copy decoded when the body is done.
type shadowStream struct {
	s     *Server
	sm    *siteMetrics
	rec   *receipt.Entry
	ub    upstreamBody
	enc   coding.Encoding
	d     decision
	rw    *rewrite.Writer // identity bodies
	in    int64
	copy  []byte // compressed bodies
	over  bool   // the copy passed shadowMaxCompressed
	eof   bool
	spent time.Duration
}

func (ss *shadowStream) Read(p []byte) (int, error) {
	n, err := ss.ub.Read(p)
	if n > 0 {
		ss.tap(p[:n])
	}
	if err == io.EOF {
		ss.eof = true
	}
	return n, err
}

func (ss *shadowStream) tap(b []byte) {
	if ss.rw != nil {
		start := time.Now()
		ss.in += int64(len(b))
		ss.rw.Write(b) //nolint:errcheck // io.Discard
		ss.spent += time.Since(start)
		return
	}
	if ss.over {
		return
	}
	if len(ss.copy)+len(b) > shadowMaxCompressed {
		ss.over, ss.copy = true, nil
		return
	}
	ss.copy = append(ss.copy, b...)
}

// WriteTo copies the stream to w through a pooled 32 KiB buffer (pump).
func (ss *shadowStream) WriteTo(w io.Writer) (int64, error) { return pump(w, ss) }

// SupportsBodyWriteTo lets fasthttp use WriteTo.
func (ss *shadowStream) SupportsBodyWriteTo() bool { return true }

// Close counts what was observed, sends the receipt and releases the
// upstream response.
func (ss *shadowStream) Close() error {
	e := enforcer{decision: ss.d, sm: ss.sm, rec: ss.rec}
	switch {
	case ss.rw != nil:
		ss.rw.Close() //nolint:errcheck // io.Discard
		if ss.eof {
			ss.s.countRewrite(ss.sm, ss.d.site, ss.rw, ss.in, ss.spent, ss.rec)
		} else {
			receiptRemovals(ss.rec, ss.d.site, ss.rw) // what was seen; metrics count whole bodies
		}
		putWriter(ss.rw, ss.d.policy())
		ss.rw = nil
	case !ss.over && ss.eof:
		ss.s.observe(&e, ss.enc, ss.copy)
	}
	if ss.rec != nil {
		if !ss.eof || ss.over {
			ss.rec.Incomplete = true
			ss.rec.HTML = true
		}
		ss.s.opts.Receipts.Add(ss.rec)
		ss.rec = nil
	}
	if ss.ub.resp != nil {
		ss.ub.resp.CloseBodyStream() //nolint:errcheck
		fasthttp.ReleaseResponse(ss.ub.resp)
		ss.ub.resp = nil
	}
	ss.copy = nil
	return nil
}
