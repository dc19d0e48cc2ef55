package proxy

import (
	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"
)

// CanaryHeader carries the canary's token on its own requests, so their
// receipts say canary. Only a request with the token of this process
// counts; the header is not sent upstream.
const CanaryHeader = "Consentgate-Canary"

// DecisionHeader is the response header that tells a visitor or a tester
// what was decided, on sites with decision_header: an RFC 8941 dictionary
// such as
//
//	opted_out=?1, sources=(gpc), denied=(analytics advertising social), mode=opt-out, shadow=?0
//
// with no personal data: the sources and categories are names from closed
// sets.
const DecisionHeader = "Consentgate-Decision"

// Receipts takes the records of enforced responses; *receipt.Log is one.
// Add must not block.
type Receipts interface {
	Add(*receipt.Entry) bool
}

// newReceipt starts the receipt of a response whose decision denies
// something: who decided what, nothing about the visitor.
func (s *Server) newReceipt(ctx *fasthttp.RequestCtx, d *decision) *receipt.Entry {
	r := receipt.Acquire()
	r.Kind = receipt.KindResponse
	r.Time = ctx.Time()
	r.Site, r.Rules = d.site.Name, d.set.Version()
	r.Shadow = d.shadow
	c := &d.consent
	r.OptedOut, r.Mode, r.Denied, r.Sources = c.OptedOut, c.Mode, d.deny, d.sources
	if tok := s.opts.CanaryToken; tok != "" {
		r.Canary = string(ctx.Request.Header.Peek(CanaryHeader)) == tok
	}
	return r
}

// settle sends the receipt of a response that ends in forward; a streamed
// body took it over (e.rec is nil then) and sends it when it is done.
func (s *Server) settle(ctx *fasthttp.RequestCtx, e *enforcer) {
	if e.rec == nil {
		return
	}
	e.rec.Status = ctx.Response.StatusCode()
	s.opts.Receipts.Add(e.rec)
	e.rec = nil
}

// receiptRemovals adds what the rewriter removed from one body to rec. It
// is the one place that reads the rewriter's records for receipts.
func receiptRemovals(rec *receipt.Entry, site *rules.Site, rw *rewrite.Writer) {
	if rec == nil {
		return
	}
	for _, rm := range rw.Removed() {
		rec.AddRemoval(rm.Vendor, site.Category(rm.Vendor), rm.Action, rm.Element, rm.Count)
	}
	st := rw.Stats()
	rec.Oversize += st.Oversize
	rec.RemovedOther += st.Unrecorded
	rec.HTML = true
}

// failClosed counts a fail-closed branch in the metric and the receipt.
func (s *Server) failClosed(sm *siteMetrics, rec *receipt.Entry, reason string) {
	s.metrics.FailClosed.WithLabelValues(sm.name, reason).Inc()
	if rec != nil {
		rec.AddFailClosed(reason)
	}
}

// Tally appends each site's request totals by decision since the process
// started (the consentgate_requests_total counters), for tally receipts.
func (s *Server) Tally(dst []receipt.Tally) []receipt.Tally {
	st := s.current()
	var m dto.Metric
	val := func(c interface{ Write(*dto.Metric) error }) uint64 {
		m.Reset()
		if c.Write(&m) != nil || m.Counter == nil {
			return 0
		}
		return uint64(m.Counter.GetValue())
	}
	for _, sm := range st.sites {
		dst = append(dst, receipt.Tally{Site: sm.name, OptedOut: val(sm.reqOptedOut),
			ConsentRequired: val(sm.reqConsentRequired), NotOptedOut: val(sm.reqNone)})
	}
	return dst
}

// appendDecision appends the value of DecisionHeader.
func appendDecision(b []byte, c signals.Consent, shadow bool) []byte {
	b = append(b, "opted_out="...)
	b = appendSFBool(b, c.OptedOut)
	b = append(b, ", sources=("...)
	first := true
	names := signals.SourceNames()
	c.Sources.Each(func(i int) {
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, names[i]...)
	})
	b = append(b, "), denied=("...)
	first = true
	for _, cat := range rules.ByName {
		if c.Denied.Has(cat) {
			if !first {
				b = append(b, ' ')
			}
			first = false
			b = append(b, cat.String()...)
		}
	}
	b = append(b, "), mode="...)
	b = append(b, c.Mode.String()...)
	b = append(b, ", shadow="...)
	return appendSFBool(b, shadow)
}

func appendSFBool(b []byte, v bool) []byte {
	if v {
		return append(b, "?1"...)
	}
	return append(b, "?0"...)
}

// setDecisionHeader adds DecisionHeader to the response.
func setDecisionHeader(ctx *fasthttp.RequestCtx, c signals.Consent, shadow bool) {
	var buf [160]byte
	ctx.Response.Header.SetBytesV(DecisionHeader, appendDecision(buf[:0], c, shadow))
}

// RecordGuard writes a guard receipt: what the in-page runtime guard
// reported refusing in an opted-out visitor's browser, vendors and counts
// as guard.ReadReport validated them (never URLs or page data). It has the
// signature of Options.OnRuntimeBlocked, where serve installs it; it does
// nothing without receipts. A report is posted by a browser and anyone can
// post one: a guard receipt shows what was reported, bounded, not proved.
func (s *Server) RecordGuard(ctx *fasthttp.RequestCtx, site *rules.Site, blocks []guard.Block) {
	if s.opts.Receipts == nil || len(blocks) == 0 {
		return
	}
	r := receipt.Acquire()
	r.Kind = receipt.KindGuard
	r.Time = ctx.Time()
	r.Site, r.Rules, r.Shadow = site.Name, s.current().set.Version(), site.Shadow
	for _, b := range blocks {
		r.AddGuard(b.Vendor.ID, site.Category(b.Vendor).String(), b.Count)
	}
	s.opts.Receipts.Add(r)
}
