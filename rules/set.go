package rules

import (
	"bytes"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/matcher"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// Set is a compiled, immutable rule set: the catalogue, the sites and the
// matchers built from them. It is safe for concurrent use; a reload builds a
// new Set and swaps a pointer (see reload.Holder).
//
// Host, site and cookie lookups are answered from tables built at compile
// time, without allocation and without a cache: a suffix-map walk costs less
// than a cache hit would.
type Set struct {
	vendors  []*Vendor
	sites    []*Site
	hosts    map[string]*Vendor // host suffix → vendor
	hostBits *hostFilter        // prefilter of hosts
	cookies  map[string]*Vendor // exact cookie name → vendor
	prefixes prefixTable
	sigs     *Matcher
	byID     map[string]*Vendor

	siteExact map[string]*Site
	siteWild  map[string]*Site // "*.example.com" as "example.com"
	siteAny   *Site

	imports  []ImportStats
	warnings []config.Problem
	version  string
	loadedAt time.Time
	cfg      *config.Config
	closed   atomic.Bool
	id       uint64 // distinguishes this set's entries in the shared lookup caches

	// Front tables of the lookup caches (cache.go).
	siteFront front[Site]
	hostFront front[Vendor]
}

// Close marks the set as retired. A Set holds no goroutines or caches, so
// lookups on a closed Set still answer; Close exists so that a
// reload.Holder can retire a set after its grace period, and Closed
// reports it. It is idempotent.
func (s *Set) Close() { s.closed.Store(true) }

// Closed reports whether Close was called.
func (s *Set) Closed() bool { return s.closed.Load() }

// Version identifies the content of the set (a hash of catalogue, config and
// imported lists).
func (s *Set) Version() string { return s.version }

// LoadedAt is when the set was compiled.
func (s *Set) LoadedAt() time.Time { return s.loadedAt }

// Config is the config the set was compiled from. Callers must not change it.
func (s *Set) Config() *config.Config { return s.cfg }

// Vendors returns the vendors; Vendor.Index is the position. Do not modify.
func (s *Set) Vendors() []*Vendor { return s.vendors }

// List returns every vendor as JSON-friendly data, in Vendors order.
func (s *Set) List() []VendorInfo {
	out := make([]VendorInfo, len(s.vendors))
	for i, v := range s.vendors {
		out[i] = v.Info()
	}
	return out
}

// Warnings are what check reports about a valid config without refusing
// it, each with its line and field path: a site declaring an analytics,
// advertising or social vendor necessary or functional, and imported
// lists that rate hosts of curated vendors otherwise (see ImportStats).
func (s *Set) Warnings() []config.Problem { return s.warnings }

// Imports reports what each configured import contributed.
func (s *Set) Imports() []ImportStats { return s.imports }

// Sites returns the sites in config order. Do not modify.
func (s *Set) Sites() []*Site { return s.sites }

// CacheMetrics returns the process-wide hit and miss counts of the site and
// host lookups (see CacheMetrics in cache.go).
func (s *Set) CacheMetrics() (siteHits, siteMisses, hostHits, hostMisses uint64) {
	return CacheMetrics()
}

// Site returns the site for a request host (as in the Host header, maybe
// with a port, any case), or nil if no site answers for it. An exact host
// wins over a wildcard, a longer wildcard over a shorter one, and "*" comes
// last. It does not allocate and does not keep host.
func (s *Set) Site(host []byte) *Site {
	return s.cachedSite(host)
}

// lookupSite is Site without the cache.
func (s *Set) lookupSite(host []byte) *Site {
	var buf urlhost.Buf
	h := buf.Canonical(host)
	if h == nil {
		return s.siteAny
	}
	if st, ok := s.siteExact[string(h)]; ok {
		return st
	}
	if len(s.siteWild) > 0 {
		// A wildcard "*.example.com" answers for example.com too.
		for suf, ok := h, bytes.IndexByte(h, '.') >= 0; ok; suf, ok = urlhost.NextSuffix(suf) {
			if st, found := s.siteWild[string(suf)]; found {
				return st
			}
		}
	}
	return s.siteAny
}

// VendorForHost classifies a URL host (any case, maybe with a port or a
// trailing dot): the vendor it belongs to, or nil. The host is matched by
// suffix at label boundaries ("x.doubleclick.net" matches "doubleclick.net");
// the longest listed suffix wins. It does not look at the site (see
// Classify), does not allocate and does not keep host.
func (s *Set) VendorForHost(host []byte) *Vendor {
	var buf urlhost.Buf
	return s.matchHost(buf.Canonical(host))
}

// matchHost looks up a canonical host.
func (s *Set) matchHost(h []byte) *Vendor {
	for suf, ok := h, bytes.IndexByte(h, '.') >= 0; ok; suf, ok = urlhost.NextSuffix(suf) {
		if !s.hostBits.mayHave(suf) {
			continue
		}
		if v, found := s.hosts[string(suf)]; found {
			return v
		}
	}
	return nil
}

// Classify returns the vendor a URL host belongs to on site, or nil when the
// host is not a tracker, is one of the site's own or first-party hosts, or
// its vendor is allowed on the site. site may be nil. It does not allocate.
func (s *Set) Classify(site *Site, host []byte) *Vendor {
	return s.cachedClassify(site, host)
}

// classify is Classify without the cache.
func (s *Set) classify(site *Site, host []byte) *Vendor {
	var buf urlhost.Buf
	h := buf.Canonical(host)
	v := s.matchHost(h)
	if v == nil || site == nil {
		return v
	}
	if site.allow[v.index] || site.isFirstParty(h) {
		return nil
	}
	return v
}

// ClassifyURL classifies a URL or bare host as written in HTML or on the
// command line: absolute, protocol-relative or a host. Relative URLs are
// first-party and return nil.
func (s *Set) ClassifyURL(site *Site, u []byte) *Vendor {
	h := urlhost.Find(u)
	if len(h) == 0 {
		return nil
	}
	return s.Classify(site, h)
}

// CookieVendor returns the vendor that sets a cookie of that name, or nil.
// Exact names win over prefixes, longer prefixes over shorter ones. It does
// not allocate.
func (s *Set) CookieVendor(name []byte) *Vendor {
	if v, ok := s.cookies[string(name)]; ok {
		return v
	}
	return s.prefixes.lookup(name)
}

// Signatures is the matcher for inline-script signatures.
func (s *Set) Signatures() *Matcher { return s.sigs }

// Matcher finds the vendors whose inline-script signatures occur in a text
// (see package rules/matcher); MatchState matches text that arrives in
// chunks.
type (
	Matcher    = matcher.Matcher[*Vendor]
	MatchState = matcher.State[*Vendor]
)

// NewMatcher builds a matcher over the signatures of vendors. Empty
// signatures are ignored.
func NewMatcher(vendors []*Vendor) *Matcher {
	return matcher.New(vendors, func(v *Vendor) []string { return v.Signatures })
}

// VendorByID returns the vendor with that id, or nil.
func (s *Set) VendorByID(id string) *Vendor { return s.byID[id] }
