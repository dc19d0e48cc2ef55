package signals

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
)

// Source is a set of signal sources, one bit each.
type Source uint16

// The sources, in the order they are printed.
const (
	GPC Source = 1 << iota
	OptOutCookie
	USP
	GPP
	TCF
	CMP
	DNT
	Region
	// Registry: the shared opt-out registry says the visitor's account
	// opted out on some device (see Input.Registry).
	Registry
	// Mirror: the consent mirror's cookie (MirrorCookie) says the
	// visitor opted out or denied categories in a consent tool that keeps
	// its state in the page only.
	Mirror
	numSources = iota
)

// NumSources is the number of sources; Consent.Reasons has one slot each.
const NumSources = numSources

var sourceNames = [numSources]string{"gpc", "optout_cookie", "usp", "gpp", "tcf", "cmp", "dnt", "region", "registry", "mirror"}

// SourceNames lists every source name in bit order; a metrics label set.
func SourceNames() []string { return sourceNames[:] }

// Names returns the names of the sources in the set, in bit order. It never
// returns nil.
func (s Source) Names() []string {
	out := make([]string, 0, numSources)
	for i := 0; i < numSources; i++ {
		if s&(1<<i) != 0 {
			out = append(out, sourceNames[i])
		}
	}
	return out
}

// Each calls fn with the index (into SourceNames) of each source in the set.
func (s Source) Each(fn func(i int)) {
	for i := 0; i < numSources; i++ {
		if s&(1<<i) != 0 {
			fn(i)
		}
	}
}

// Consent is the decision for one request: whether the visitor opted out,
// which categories are denied, and which sources said so. It is a small
// value; reading it allocates nothing.
type Consent struct {
	// OptedOut is true when any source opted the visitor out, denied a
	// category, or failed to parse (which counts as an opt-out). In an
	// opt-in region Denied may be non-empty while OptedOut is false: the
	// visitor has not chosen yet. Enforce Denied, not OptedOut.
	OptedOut bool
	// DoNotSell is true when a "do not sell or share" signal opted the
	// visitor out (GPC, DNT, the opt-out cookie, USP, a GPP opt-out,
	// OneTrust's GPC flag, the registry, the mirror, or a signal that
	// failed), so the site's Deny is denied: what the proxy tells the
	// vendors that stay (propagation). A category denied by a consent
	// tool alone does not set it.
	DoNotSell bool
	// Denied is the set of categories to enforce.
	Denied rules.Categories
	// Mode is the consent regime: ModeOptIn when the region says so.
	Mode Mode
	// Sources are the signals that contributed to the decision.
	Sources Source
	// Errors are the signals that were present but could not be parsed.
	Errors Source
	// Reasons holds, per source index (see SourceNames), the first reason a
	// signal of that source could not be used; ReasonNone elsewhere.
	Reasons [NumSources]Reason
	// TCFVendorsDenied has bit i set when the site's TCFVendors[i] (i < 64)
	// has no vendor consent in the TC string read (or no express consent in
	// a GPP tcfcav1 section).
	TCFVendorsDenied uint64
}

// Reason returns the parse-failure reason recorded for a single source.
func (c *Consent) Reason(s Source) Reason {
	for i := 0; i < numSources; i++ {
		if s == 1<<i {
			return c.Reasons[i]
		}
	}
	return ReasonNone
}

// EachError calls fn for each source that failed, with its reason; for
// consentgate_signal_parse_errors_total{signal,reason}.
func (c *Consent) EachError(fn func(source string, reason Reason)) {
	for i := 0; i < numSources; i++ {
		if c.Errors&(1<<i) != 0 {
			fn(sourceNames[i], c.Reasons[i])
		}
	}
}

// Options configure a Reader. The zero value is usable.
type Options struct {
	// CacheMaxCost bounds the decoded-string cache, in bytes of consent
	// strings held (default 32 MiB).
	CacheMaxCost int64
	// CacheCounters is ristretto's NumCounters (default 10 × the number of
	// 1 KiB strings that fit in CacheMaxCost, at least 1e5).
	CacheCounters int64
	// GeoIP, when set, answers every site that names a GeoIPDatabase,
	// instead of opening that database (tests, custom sources).
	GeoIP CountryLookup
}

// Reader reads consent from requests. It is safe for concurrent use.
type Reader struct {
	opts  Options
	cache *stringCache
	geo   geoDBs
}

// NewReader returns a Reader with default options. It panics only if the
// cache cannot be created with the default options, which does not happen.
func NewReader() *Reader {
	r, err := NewReaderWith(Options{})
	if err != nil {
		panic(err)
	}
	return r
}

// NewReaderWith returns a Reader with opts.
func NewReaderWith(opts Options) (*Reader, error) {
	if opts.CacheMaxCost <= 0 {
		opts.CacheMaxCost = 32 << 20
	}
	if opts.CacheCounters <= 0 {
		opts.CacheCounters = max(opts.CacheMaxCost/1024*10, 1e5)
	}
	c, err := newStringCache(opts.CacheMaxCost, opts.CacheCounters)
	if err != nil {
		return nil, fmt.Errorf("cannot create consent string cache: %w", err)
	}
	return &Reader{opts: opts, cache: c}, nil
}

// Close releases the cache and any GeoIP databases. Read must not be called
// after Close.
func (r *Reader) Close() {
	r.cache.c.Close()
	r.geo.close()
}

// OpenGeoIP opens the MaxMind database at path now, so a bad path is
// reported when rules load (consentgate check, a reload) rather than on the
// first request; a database that failed to open before is tried again. Read
// opens it on first use otherwise, once: a failure there is remembered (the
// region is then unknown: opt-out mode).
func (r *Reader) OpenGeoIP(path string) error {
	return r.geo.open(path, true).err
}

// CacheMetrics returns the hit and miss counts of the decoded-string cache.
func (r *Reader) CacheMetrics() (hits, misses uint64) {
	return r.cache.hits.Load(), r.cache.misses.Load()
}

// Read decides the consent of one request under the site policy p (nil:
// no site, defaults; see PolicyOf). It allocates nothing on the common
// path: no consent cookie, or consent strings already in the cache. The site's country header is believed
// (see Input.Trusted).
func (r *Reader) Read(p *Policy, h *fasthttp.RequestHeader) Consent {
	return r.read(p, h, Input{Trusted: true}, nil)
}

// ReadAddr is Read with the client address, used for the site's GeoIP
// database. addr may be the zero Addr.
func (r *Reader) ReadAddr(p *Policy, h *fasthttp.RequestHeader, addr netip.Addr) Consent {
	return r.read(p, h, Input{Addr: addr, Trusted: true}, nil)
}

// Input is what the caller knows of a request beyond its header: facts
// that took I/O to learn, which Read never does itself. The zero value
// knows nothing.
type Input struct {
	// Addr is the client address, for the site's GeoIP database; may be
	// the zero Addr.
	Addr netip.Addr
	// Registry is the shared registry's answer for the account the request
	// carries (RegistryNone without one).
	Registry RegistryAnswer
	// Trusted says the request came through a proxy the operator trusts
	// (or every peer is trusted), which sets the site's country header.
	// From any other peer the header is the visitor's own word: it may
	// put the visitor in an opt-in region, which only protects them more,
	// but never take them out of one, so it is believed only when it names
	// an opt-in country; otherwise the region comes from GeoIP, or is
	// unknown. Read, ReadAddr, Explain and ExplainAddr trust it.
	Trusted bool
}

// RegistryAnswer is what the shared opt-out registry said about the
// request's account.
type RegistryAnswer uint8

const (
	// RegistryNone: no account key in the request, or no registry.
	RegistryNone RegistryAnswer = iota
	// RegistryNotOptedOut: the account has no opt-out on record.
	RegistryNotOptedOut
	// RegistryOptedOut: the account opted out (on this or another
	// device): an opt-out of source Registry.
	RegistryOptedOut
	// RegistryUnknown: the registry did not answer within its budget and
	// nothing was cached; the other signals decide alone.
	RegistryUnknown
)

var registryAnswerNames = [...]string{"none", "not_opted_out", "opted_out", "unknown"}

// String returns the answer's name as Explain prints it.
func (a RegistryAnswer) String() string {
	if int(a) < len(registryAnswerNames) {
		return registryAnswerNames[a]
	}
	return "unknown"
}

// ReadInput is Read with what the caller learned of the request.
func (r *Reader) ReadInput(p *Policy, h *fasthttp.RequestHeader, in Input) Consent {
	return r.read(p, h, in, nil)
}

// Explain decides like Read and also reports what each signal decoded to.
// It bypasses the cache.
func (r *Reader) Explain(p *Policy, h *fasthttp.RequestHeader) *Explanation {
	return r.ExplainInput(p, h, Input{Trusted: true})
}

// ExplainAddr is Explain with the client address.
func (r *Reader) ExplainAddr(p *Policy, h *fasthttp.RequestHeader, addr netip.Addr) *Explanation {
	return r.ExplainInput(p, h, Input{Addr: addr, Trusted: true})
}

// ExplainInput is Explain with what the caller learned of the request.
func (r *Reader) ExplainInput(p *Policy, h *fasthttp.RequestHeader, in Input) *Explanation {
	e := &Explanation{}
	c := r.read(p, h, in, &e.Signals)
	e.fill(c)
	return e
}

// raw is one consent cookie's value as seen in the request. The bytes are
// fasthttp's and valid only during read.
type raw struct {
	v    []byte
	seen bool
	dup  bool // a second cookie of the name with another value
}

func (x *raw) set(v []byte) {
	if !x.seen {
		x.v, x.seen = v, true
		return
	}
	if !bytes.Equal(x.v, v) {
		x.dup = true
	}
}

// complianz cookie names we read, in cmplzRaw order.
// consentCookies has bit n of entry c set when a consent cookie name read
// by Read starts with byte c and is n bytes long.
var consentCookies = func() (t [256]uint64) {
	names := []string{"usprivacy", "us_privacy", "__gpp", "__gpp_sid", "euconsent-v2",
		"OptanonConsent", "CookieConsent", "cookieyes-consent", "didomi_token", "klaro", MirrorCookie}
	names = append(names, cmplzNames[:]...)
	for _, n := range names {
		t[n[0]] |= 1 << len(n)
	}
	return t
}()

var cmplzNames = [...]string{"cmplz_functional", "cmplz_preferences", "cmplz_statistics", "cmplz_marketing"}

// request holds what one pass over the headers and cookies found.
type request struct {
	gpc, dnt, optOutCookie bool
	country, state         raw
	usp                    [2]raw // usprivacy, us_privacy
	gpp, gppSID, tcf       raw
	cmp                    [numCMPs]raw
	cmplz                  [len(cmplzNames)]raw
	anyCMP                 bool
	mirror                 raw // MirrorCookie, on sites with the mirror
}

// decision accumulates the outcome of every signal.
type decision struct {
	c               Consent
	granted, denied rules.Categories
	sellOptOut      bool // a "do not sell or share" signal: deny p.Deny
	// law is 1 + the index in laws of the visitor's state law (the site's
	// StateHeader named a state with a pack), 0 for none.
	law uint8
	d   *Signals
}

func (dc *decision) optOut(s Source) {
	dc.c.OptedOut = true
	dc.c.Sources |= s
	dc.sellOptOut = true
}

func (dc *decision) deny(s Source, cats rules.Categories) {
	if cats == 0 {
		return
	}
	dc.c.OptedOut = true
	dc.c.Sources |= s
	dc.denied |= cats
}

func (dc *decision) grant(s Source, cats rules.Categories) {
	if cats == 0 || dc.c.Mode != ModeOptIn {
		return // grants only change anything in an opt-in region
	}
	dc.c.Sources |= s
	dc.granted |= cats
}

// fail records a signal that cannot be used: an opt-out for what it covers.
func (dc *decision) fail(s Source, f failure) {
	dc.optOut(s)
	dc.c.Errors |= s
	for i := 0; i < numSources; i++ {
		if s == 1<<i && dc.c.Reasons[i] == ReasonNone {
			dc.c.Reasons[i] = f.reason
		}
	}
	if dc.d != nil {
		msg := sourceName(s) + ": " + f.what
		if f.section != 0 {
			msg += fmt.Sprintf(" in section %d", f.section)
		}
		dc.d.errors = append(dc.d.errors, msg)
	}
}

func (r *Reader) read(p *Policy, h *fasthttp.RequestHeader, in Input, d *Signals) Consent {
	var q request
	q.readHeaders(p, h)
	for k, v := range h.Cookies() {
		q.cookie(p, k, v)
	}

	dc := decision{d: d}
	if q.gpc {
		dc.optOut(GPC)
	}
	if q.dnt {
		dc.optOut(DNT)
	}
	if q.optOutCookie {
		dc.optOut(OptOutCookie)
	}
	if in.Registry == RegistryOptedOut {
		dc.optOut(Registry)
	}
	if d != nil {
		d.GPC, d.DNT, d.OptOutCookie = q.gpc, q.dnt, q.optOutCookie
		if in.Registry != RegistryNone {
			d.Registry = &RegistrySignal{Account: true, Answer: in.Registry.String()}
		}
	}

	r.region(p, &q, in, &dc)
	r.readUSP(&q, &dc)
	r.readGPP(p, &q, &dc)
	r.readTCF(p, &q, &dc)
	if q.anyCMP {
		r.readCMPs(p, &q, &dc)
	}
	r.readMirror(&q, &dc)
	return dc.consent(p, &q)
}

// readHeaders reads the request headers other than Cookie. Sec-GPC:
// exactly "1" after the field's optional whitespace; any of several
// headers counts (GPC specification §3.1). DNT only when the site asks for
// it. Names compare case-insensitively so a header with normalizing
// disabled reads the same.
func (q *request) readHeaders(p *Policy, h *fasthttp.RequestHeader) {
	siteDNT := p != nil && p.DNT
	var countryHeader, stateHeader string
	if p != nil {
		countryHeader, stateHeader = p.CountryHeader, p.StateHeader
	}
	visit := func(k, v []byte) {
		switch {
		case equalFoldASCII(k, "Sec-GPC"):
			if isOne(v) {
				q.gpc = true
			}
		case siteDNT && equalFoldASCII(k, "DNT"):
			if isOne(v) {
				q.dnt = true
			}
		default:
			// One header may carry both ("X-Region: US-TX").
			if countryHeader != "" && equalFoldASCII(k, countryHeader) {
				q.country.set(v)
			}
			if stateHeader != "" && equalFoldASCII(k, stateHeader) {
				q.state.set(v)
			}
		}
	}
	// A header parsed from the wire keeps its raw bytes: scanning them is
	// cheaper than All, which re-serialises the Cookie header on every
	// call. Headers built with Set/Add have none and are visited.
	if raw := h.RawHeaders(); len(raw) > 0 {
		lens := uint64(1)<<len("Sec-GPC") | 1<<len("DNT")
		for _, name := range [2]string{countryHeader, stateHeader} {
			if n := len(name); n >= 64 {
				lens = 0 // visit every line
				break
			} else if n > 0 {
				lens |= 1 << n
			}
		}
		scanRawHeaders(raw, lens, visit)
	} else {
		for k, v := range h.All() {
			visit(k, v)
		}
	}
}

// cookie reads one cookie of the request: the site's opt-out cookie, or
// one of the consent cookies.
func (q *request) cookie(p *Policy, k, v []byte) {
	if p != nil && p.OptOutCookie != "" && string(k) == p.OptOutCookie {
		if string(v) == p.OptOutValue {
			q.optOutCookie = true
		}
		return
	}
	// Most cookies are none of ours: one table load by first byte and
	// length rejects them before the string switch.
	if len(k) == 0 || len(k) >= 64 || consentCookies[k[0]]&(1<<len(k)) == 0 {
		return
	}
	switch string(k) {
	case MirrorCookie:
		if p != nil && p.Mirror {
			q.mirror.set(v)
		}
	case "usprivacy":
		q.usp[0].set(v)
	case "us_privacy":
		q.usp[1].set(v)
	case "__gpp":
		q.gpp.set(v)
	case "__gpp_sid":
		q.gppSID.set(v)
	case "euconsent-v2":
		q.tcf.set(v)
	case "OptanonConsent":
		q.setCMP(cmpOneTrust, v)
	case "CookieConsent":
		q.setCMP(cmpCookiebot, v)
	case "cookieyes-consent":
		q.setCMP(cmpCookieYes, v)
	case "didomi_token":
		q.setCMP(cmpDidomi, v)
	case "klaro":
		q.setCMP(cmpKlaro, v)
	default:
		if len(k) > 6 && string(k[:6]) == "cmplz_" {
			for i, n := range cmplzNames {
				if string(k) == n {
					q.cmplz[i].set(v)
					q.anyCMP = true
				}
			}
		}
	}
}

// setCMP records the cookie of a consent tool.
func (q *request) setCMP(k cmpKind, v []byte) {
	q.cmp[k].set(v)
	q.anyCMP = true
}

// consent is the decision's outcome: the categories denied by the mode,
// by consent tools and by a "do not sell or share" opt-out (the site's
// Deny), never Necessary.
func (dc *decision) consent(p *Policy, q *request) Consent {
	c := dc.c
	if c.Mode == ModeOptIn {
		c.Denied = rules.AllButNecessary &^ dc.granted
	}
	c.Denied |= dc.denied
	if dc.sellOptOut {
		c.DoNotSell = true
		deny := rules.DefaultDeny
		if p != nil {
			deny = p.Deny
		}
		c.Denied |= deny
	}
	c.Denied &^= rules.Of(rules.Necessary)
	if d := dc.d; d != nil && d.law != nil && (q.gpc || d.gppGPC) {
		d.law.GPC = "policy"
		if d.law.Law != nil && d.law.Law.RequiresGPC(time.Now()) {
			d.law.GPC = "required"
		}
	}
	return c
}

func (r *Reader) region(p *Policy, q *request, from Input, dc *decision) {
	if p == nil {
		return
	}
	var rr regionResult
	header := q.country.seen && !q.country.dup
	if header {
		if cc, ok := parseCountry(q.country.v); ok {
			switch {
			case from.Trusted || modeFor(p, cc) == ModeOptIn:
				rr.cc, rr.from = cc, "header"
			default:
				// An untrusted peer's header naming an opt-out country
				// is not believed: the region is looked up as if there
				// were none.
				rr.untrusted, header = true, false
			}
		}
	}
	if !header && p.GeoIPDatabase != "" && from.Addr.IsValid() {
		lookup := r.opts.GeoIP
		if lookup == nil {
			g := r.geo.get(p.GeoIPDatabase)
			lookup, rr.err = g.lookup, g.err
		}
		if lookup != nil {
			if cc, ok := lookup.Country(from.Addr.Unmap()); ok {
				rr.cc, rr.from = cc, "geoip"
			}
		}
	}
	if rr.from != "" {
		rr.mode = modeFor(p, rr.cc)
	}
	var state [2]byte
	if p.StateHeader != "" && q.state.seen && !q.state.dup {
		if st, ok := parseState(q.state.v, rr.cc, rr.from != ""); ok {
			state = st
			dc.law = lawByCode[stateIndex(st[0], st[1])]
		}
	}
	if dc.d != nil && state != [2]byte{} {
		ls := &LawSignal{State: "US-" + string(state[:]), From: "header"}
		if dc.law != 0 {
			ls.Law = &laws[dc.law-1]
		}
		dc.d.law = ls
	}
	dc.c.Mode = rr.mode
	if rr.mode == ModeOptIn {
		dc.c.Sources |= Region
	}
	if dc.d != nil && (rr.from != "" || rr.err != nil || p.CountryHeader != "" || p.GeoIPDatabase != "") {
		reg := &RegionSignal{Mode: rr.mode.String(), From: rr.from}
		if rr.from != "" {
			reg.Country = string(rr.cc[:])
		}
		if rr.err != nil {
			reg.Error = rr.err.Error()
		}
		reg.IgnoredHeader = rr.untrusted
		dc.d.Region = reg
	}
}

// duplicate fails s when the request carried x twice with different
// values, and reports whether it did.
func (dc *decision) duplicate(s Source, x *raw) bool {
	if x.dup {
		dc.fail(s, failure{reason: ReasonDuplicate, what: "two cookies with different values"})
	}
	return x.dup
}

// cached returns the decoded string v of kind from the cache, or decodes
// it with decode and caches it when it is not over MaxSignalLen.
func (r *Reader) cached(kind entryKind, v []byte, decode func(e *entry)) *entry {
	if e := r.cache.get(kind, v); e != nil {
		return e
	}
	e := &entry{kind: kind}
	decode(e)
	if len(v) <= MaxSignalLen {
		r.cache.put(v, e)
	}
	return e
}

func (r *Reader) readUSP(q *request, dc *decision) {
	for i := range q.usp {
		x := &q.usp[i]
		if !x.seen {
			continue
		}
		if dc.duplicate(USP, x) {
			continue
		}
		u, err := ParseUSP(x.v)
		if dc.d != nil {
			sale := "-"
			if err == nil {
				sale = string(u.OptOutSale)
			}
			dc.d.USP = &USPSignal{String: string(x.v), OptOutSale: sale}
		}
		if err != nil {
			dc.fail(USP, failure{reason: uspReason(x.v), what: "bad US Privacy string"})
			continue
		}
		if u.OptOutSale == 'Y' {
			dc.optOut(USP)
		}
	}
}

func uspReason(v []byte) Reason {
	switch {
	case len(v) == 0:
		return ReasonEmpty
	case len(v) != 4:
		return ReasonTooLong
	case v[0] != '1':
		return ReasonBadVersion
	}
	return ReasonBadValue
}

func (r *Reader) readGPP(p *Policy, q *request, dc *decision) {
	if !q.gpp.seen {
		if q.gppSID.seen && dc.d != nil {
			dc.d.GPP = &GPPSignal{SectionIDs: []int{}, Sections: map[string]any{}}
		}
		return
	}
	if dc.duplicate(GPP, &q.gpp) {
		return
	}
	var res *gppResult
	if dc.d != nil {
		sink := &gppSink{ids: []int{}, sections: map[string]any{}}
		g := parseGPP(q.gpp.v, sink)
		res = &g
		dc.d.GPP = &GPPSignal{SectionIDs: sink.ids, Sections: sink.sections}
	} else {
		res = &r.cached(kindGPP, q.gpp.v, func(e *entry) { e.gpp = parseGPP(q.gpp.v, nil) }).gpp
	}
	if !res.fail.ok() {
		dc.fail(GPP, res.fail)
		return
	}
	applicable := res.sections
	if q.gppSID.seen {
		sid, ok := parseSID(q.gppSID.v)
		if !ok || q.gppSID.dup {
			dc.fail(GPP, failure{reason: ReasonBadSID, what: "bad __gpp_sid"})
			return
		}
		applicable = sid
		if dc.d != nil {
			dc.d.GPP.Applicable = bitList(sid>>1, maxSID)
		}
	}
	// Opt-outs count from every section present, applicable or not: an
	// opt-out anywhere wins. With the visitor's state law known
	// (p.StateHeader), its section governs instead, or usnat where the
	// string has no such section; a true GPC sub-section in any section
	// and an uspv1 opt-out still count. Without either section every
	// section counts, as before.
	decide := res.optOut
	if dc.law != 0 {
		l := &laws[dc.law-1]
		by := "any"
		switch gov := uint64(1) << uint(l.SectionID); {
		case res.sections&gov != 0:
			decide, by = res.optOut&(gov|1<<sidUSPv1)|res.gpc, l.Section
		case res.sections&(1<<sidUSNat) != 0:
			decide, by = res.optOut&(1<<sidUSNat|1<<sidUSPv1)|res.gpc, "usnat"
		}
		if dc.d != nil && dc.d.law != nil {
			dc.d.law.DecidedBy = by
		}
	}
	if decide != 0 {
		dc.optOut(GPP)
	}
	if res.gpc != 0 && dc.d != nil {
		dc.d.gppGPC = true
	}
	if res.sections&(1<<sidTCFEUv2) != 0 && applicable&(1<<sidTCFEUv2) != 0 && res.tcf.present {
		dc.tcf(GPP, &res.tcf, p)
	}
	// tcfcav1 (TCF Canada) decides like tcfeuv2, from its express
	// consents (see tcfca.go).
	if res.sections&(1<<sidTCFCAv1) != 0 && applicable&(1<<sidTCFCAv1) != 0 && res.tcfca.present {
		dc.tcf(GPP, &res.tcfca, p)
	}
}

func (r *Reader) readTCF(p *Policy, q *request, dc *decision) {
	if !q.tcf.seen {
		return
	}
	if dc.duplicate(TCF, &q.tcf) {
		return
	}
	var res *tcfResult
	if dc.d != nil {
		sink := &tcfSink{}
		t := parseTCF(q.tcf.v, sink)
		res = &t
		if sink.out != nil {
			dc.d.TCF = sink.out
		}
	} else {
		res = &r.cached(kindTCF, q.tcf.v, func(e *entry) { e.tcf = parseTCF(q.tcf.v, nil) }).tcf
	}
	if !res.fail.ok() {
		dc.fail(TCF, res.fail)
		return
	}
	dc.tcf(TCF, res, p)
}

// tcf applies a decoded TC string: purposes grant or deny categories (see
// purposeCategories); a site's TCFVendors without consent keep advertising
// denied.
func (dc *decision) tcf(s Source, t *tcfResult, p *Policy) {
	granted, denied := categoriesFromPurposes(t.purposes)
	dc.tcfVendors(t, p, &granted, &denied)
	dc.grant(s, granted)
	dc.deny(s, denied)
}

func (dc *decision) tcfVendors(t *tcfResult, p *Policy, granted, denied *rules.Categories) {
	if p == nil {
		return
	}
	for i, id := range p.TCFVendors {
		if !t.hasVendor(id) {
			if i < 64 {
				dc.c.TCFVendorsDenied |= 1 << uint(i)
			}
			*granted &^= rules.Of(rules.Advertising)
			*denied |= rules.Of(rules.Advertising)
		}
	}
}

func (r *Reader) readCMPs(p *Policy, q *request, dc *decision) {
	groups := defaultOneTrustGroups
	if p != nil && p.OneTrustGroups != nil {
		groups = p.OneTrustGroups
	}
	for k := cmpKind(0); k < numCMPs; k++ {
		if k == cmpComplianz {
			for i := range q.cmplz {
				r.cmp(k, cmplzNames[i], &q.cmplz[i], groups, dc)
			}
			continue
		}
		r.cmp(k, cmpCookieNames[k], &q.cmp[k], groups, dc)
	}
}

var cmpCookieNames = [numCMPs]string{"OptanonConsent", "CookieConsent", "cookieyes-consent", "", "didomi_token", "klaro"}

func (r *Reader) cmp(k cmpKind, name string, x *raw, groups map[string]rules.Category, dc *decision) {
	if !x.seen {
		return
	}
	if x.dup {
		dc.fail(CMP, failure{reason: ReasonDuplicate, what: cmpNames[k] + ": two cookies with different values"})
		return
	}
	var res *cmpResult
	kind := kindCMP + entryKind(k)
	if k == cmpComplianz {
		// One cookie per category: the name is part of the meaning, and
		// the values are tiny; not worth caching.
		c := parseCMP(k, []byte(name), x.v, dc.d != nil)
		res = &c
	} else if dc.d != nil {
		c := parseCMP(k, []byte(name), x.v, true)
		res = &c
	} else {
		res = &r.cached(kind, x.v, func(e *entry) { e.cmp = parseCMP(k, nil, x.v, false) }).cmp
	}
	if dc.d != nil {
		if dc.d.CMP == nil {
			dc.d.CMP = map[string]any{}
		}
		det := res.detail
		if det == nil {
			det = map[string]any{"cookie": name}
		}
		if !res.fail.ok() {
			det["error"] = res.fail.what
		}
		key := cmpNames[k]
		if k == cmpComplianz {
			key = name
		}
		dc.d.CMP[key] = det
	}
	if !res.fail.ok() {
		f := res.fail
		f.what = cmpNames[k] + ": " + f.what
		dc.fail(CMP, f)
		return
	}
	if res.none {
		return
	}
	granted, denied := res.granted, res.denied
	if k == cmpOneTrust {
		granted, denied = oneTrustCategories(res.groups, groups)
		if res.gpc {
			dc.optOut(CMP)
		}
	}
	dc.grant(CMP, granted)
	dc.deny(CMP, denied)
}

// scanRawHeaders calls fn for each "name: value" line of raw header bytes
// (the lines after the request line, as fasthttp's RawHeaders returns
// them). The value keeps its surrounding whitespace.
//
// lens, when not zero, has bit n set for each name length n (< 64) that fn
// wants: the other lines are skipped without a call, which is most of them.
func scanRawHeaders(raw []byte, lens uint64, fn func(k, v []byte)) {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || lens != 0 && (colon >= 64 || lens&(1<<colon) == 0) {
			continue
		}
		// Values are trimmed by the callers that match (isOne,
		// parseCountry); most lines match nothing.
		fn(line[:colon], line[colon+1:])
	}
}

// isOne reports whether a header value is exactly "1" after optional
// whitespace (RFC 9110 §5.5: OWS around a field value is not part of it).
func isOne(v []byte) bool {
	v = trimOWS(v)
	return len(v) == 1 && v[0] == '1'
}

func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// equalFoldASCII compares a header name with s, ignoring ASCII case,
// without converting either.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func sourceName(s Source) string {
	for i := 0; i < numSources; i++ {
		if s == 1<<i {
			return sourceNames[i]
		}
	}
	return "unknown"
}
