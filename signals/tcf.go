package signals

import (
	"bytes"

	"github.com/consentgate/consentgate/rules"
)

// tcfResult is what a TC string decides, independent of site.
type tcfResult struct {
	present bool
	// purposes: bit i-1 set when purpose i has consent (PurposesConsent).
	purposes uint32
	// specialFeatures: bit i-1 set when special feature i is opted in.
	specialFeatures uint16
	// vendors is the vendor-consent bit set, bit id (nil: none consented).
	// It is shared by every request that hits the cache: never modified.
	vendors []uint64
	fail    failure
}

// tcfSink receives what Explain shows.
type tcfSink struct{ out map[string]any }

// maxVendorID bounds MaxVendorId (16 bits in the format). The global vendor
// list holds about 1,500 ids; the bound only caps the bit set's size.
const maxVendorID = 1<<16 - 1

// tcfHeader is the start of the core segment that a TC string and a
// tcfcav1 section share, after the version.
type tcfHeader struct {
	created, updated, cmpID, cmpVersion, screen uint64
	lang1, lang2, vlVersion, policy             uint64
}

// language is ConsentLanguage as two letters.
func (h *tcfHeader) language() string {
	return string([]byte{byte('A' + h.lang1), byte('A' + h.lang2)})
}

// tcfCore checks the length of a TC string or TCF section s, splits off
// its optional segments (after '.'), opens its core segment and reads its
// 6-bit version, which must be want (else a failure saying wrongVersion),
// and the header that follows. A core segment too short for the header
// leaves r.err set, for the caller's own check.
func tcfCore(s []byte, want uint64, wrongVersion string) (r bitReader, h tcfHeader, segs []byte, hasSegs bool, f failure) {
	if len(s) > MaxSignalLen {
		return r, h, nil, false, failure{reason: ReasonTooLong, what: "string too long"}
	}
	core, segs, hasSegs := bytes.Cut(s, dot)
	r, why := newBitReader(core)
	if why != ReasonNone {
		what := "bad core segment"
		if why == ReasonBadBase64 {
			what = "bad base64"
		}
		return r, h, nil, false, failure{reason: why, what: what}
	}
	if version := r.read(6); r.err == 0 && version != want {
		return r, h, nil, false, failure{reason: ReasonBadVersion, what: wrongVersion}
	}
	h = tcfHeader{created: r.read(36), updated: r.read(36), cmpID: r.read(12), cmpVersion: r.read(12),
		screen: r.read(6), lang1: r.read(6), lang2: r.read(6), vlVersion: r.read(12), policy: r.read(6)}
	return r, h, segs, hasSegs, failure{}
}

// parseTCF decodes a TC string v2 (IAB Europe TCF v2.2, "TC String Format",
// core segment and vendor sections) and validates its optional segments
// after '.' (readTCFSegments).
func parseTCF(s []byte, sink *tcfSink) tcfResult {
	var res tcfResult
	r, h, segs, hasSegs, f := tcfCore(s, 2, "TC string version is not 2")
	if res.fail = f; !f.ok() {
		return res
	}
	serviceSpecific := r.readBool()
	nonStandard := r.readBool()
	sf := r.read(12)
	for i := 0; i < 12; i++ {
		if sf&(1<<uint(11-i)) != 0 {
			res.specialFeatures |= 1 << uint(i)
		}
	}
	// PurposesConsent: 24 bits, the first is purpose 1. Keep bit i-1 for
	// purpose i.
	pc := r.read(24)
	pli := r.read(24)
	p1t := r.readBool()
	cc1, cc2 := r.read(6), r.read(6)
	for i := 0; i < 24; i++ {
		if pc&(1<<uint(23-i)) != 0 {
			res.purposes |= 1 << uint(i)
		}
	}
	if r.err != 0 {
		res.fail = failure{reason: r.err, what: "core segment too short"}
		return res
	}
	vs, f := readVendorSections(&r, false)
	res.vendors = vs.consents
	if !f.ok() {
		res.fail = f
		return res
	}
	maxV, maxLI := vs.maxConsent, vs.maxSecond
	// Publisher restrictions: NumPubRestrictions, then per entry PurposeId
	// 6, RestrictionType 2 and a range list of vendors.
	nr := int(r.read(12))
	for i := 0; i < nr && r.err == 0; i++ {
		r.skip(6)
		if t := r.read(2); t == 3 {
			res.fail = failure{reason: ReasonBadValue, what: "publisher restriction type 3 is undefined"}
			return res
		}
		if f := readRanges(&r, nil, maxVendorID); !f.ok() {
			res.fail = f
			return res
		}
	}
	if r.err != 0 {
		res.fail = failure{reason: r.err, what: "publisher restrictions too short"}
		return res
	}
	// Optional segments: DisclosedVendors, AllowedVendors (v2.0) and
	// PublisherTC, each validated.
	opt, f := readTCFSegments(segs, hasSegs, true, sink != nil)
	if !f.ok() {
		res.fail = f
		return res
	}
	res.present = true
	if sink != nil {
		sink.out = map[string]any{
			"version":                2,
			"created":                h.created,
			"last_updated":           h.updated,
			"cmp_id":                 h.cmpID,
			"cmp_version":            h.cmpVersion,
			"consent_screen":         h.screen,
			"consent_language":       h.language(),
			"vendor_list_version":    h.vlVersion,
			"policy_version":         h.policy,
			"is_service_specific":    serviceSpecific,
			"use_non_standard_texts": nonStandard,
			"special_features":       bitList(uint64(res.specialFeatures), 12),
			"purposes_consent":       bitList(uint64(res.purposes), 24),
			"purposes_li":            msbList(pli, 24),
			"purpose_one_treatment":  p1t,
			"publisher_cc":           string([]byte{byte('A' + cc1), byte('A' + cc2)}),
			"max_vendor_id":          maxV,
			"vendor_consents":        vendorList(vs.consents),
			"max_vendor_li_id":       maxLI,
		}
		if opt.has&(1<<segDisclosed) != 0 {
			sink.out["disclosed_vendors"] = vendorList(opt.disclosed)
		}
		if opt.has&(1<<segAllowed) != 0 {
			sink.out["allowed_vendors"] = vendorList(opt.allowed)
		}
		if opt.has&(1<<segPublisherTC) != 0 {
			sink.out["publisher_purposes_consent"] = msbList(opt.pubConsent, 24)
			sink.out["publisher_purposes_li"] = msbList(opt.pubLI, 24)
			sink.out["num_custom_purposes"] = opt.numCustom
			sink.out["custom_purposes_consent"] = msbList(opt.customConsent, opt.numCustom)
			sink.out["custom_purposes_li"] = msbList(opt.customLI, opt.numCustom)
		}
	}
	return res
}

// Optional segment types of a TC string and a tcfcav1 section.
const (
	segDisclosed   = 1 // DisclosedVendors
	segAllowed     = 2 // AllowedVendors, TC strings of TCF v2.0 only
	segPublisherTC = 3 // PublisherTC (tcfcav1: publisher purposes)
)

// tcfSegments is what the optional segments hold. The vendor sets and
// purpose fields are filled only for Explain.
type tcfSegments struct {
	has                     uint8 // bit t: a segment of type t was read
	disclosed, allowed      []uint64
	pubConsent, pubLI       uint64
	numCustom               int
	customConsent, customLI uint64
}

// readTCFSegments reads the optional segments after a TC string's core
// segment (or a tcfcav1 section's), each a 3-bit SegmentType then:
//
//   - 1 DisclosedVendors and 2 AllowedVendors: a vendor section,
//     MaxVendorId 16, IsRangeEncoding 1, then a bit field of MaxVendorId
//     bits or a range list (readVendorSection: a bit field cut short is
//     ReasonTruncated, an id of 0, past MaxVendorId or an end before its
//     start ReasonBadRange);
//   - 3 PublisherTC: PubPurposesConsent 24, PubPurposesLITransparency 24,
//     NumCustomPurposes 6, then two fields of NumCustomPurposes bits; a
//     shorter segment is ReasonTruncated.
//
// Any other type (2 too, unless allowed) is ReasonBadValue. A segment that
// fails fails the whole string: it is an opt-out, never consent.
// (TCF v2 "Consent string and vendor list formats", Disclosed Vendors and
// Publisher Purposes Transparency and Consent; IAB Canada's tcfcav1
// specification for its two segments.) With explain the contents are kept.
func readTCFSegments(segs []byte, hasSegs, allowed, explain bool) (tcfSegments, failure) {
	var out tcfSegments
	for hasSegs {
		var seg []byte
		seg, segs, hasSegs = bytes.Cut(segs, dot)
		sr, why := newBitReader(seg)
		if why != ReasonNone {
			return out, failure{reason: why, what: "bad optional segment"}
		}
		t := sr.read(3)
		if sr.err != 0 || t == 0 || t > segPublisherTC || (t == segAllowed && !allowed) {
			return out, failure{reason: ReasonBadValue, what: "unknown optional segment type"}
		}
		out.has |= 1 << t
		switch t {
		case segDisclosed, segAllowed:
			ids, _, f := readVendorSection(&sr, explain)
			if !f.ok() {
				if t == segDisclosed {
					f.what = "disclosed vendors segment: " + f.what
				} else {
					f.what = "allowed vendors segment: " + f.what
				}
				return out, f
			}
			if t == segDisclosed {
				out.disclosed = ids
			} else {
				out.allowed = ids
			}
		case segPublisherTC:
			out.pubConsent, out.pubLI = sr.read(24), sr.read(24)
			out.numCustom = int(sr.read(6))
			out.customConsent, out.customLI = sr.read(out.numCustom), sr.read(out.numCustom)
			if sr.err != 0 {
				return out, failure{reason: sr.err, what: "publisher TC segment too short"}
			}
		}
	}
	return out, failure{}
}

// vendorSections are the two vendor sections after the core fields of a
// TC string: consents, then legitimate interests (TCF v2) or implied
// consents (TCF Canada).
type vendorSections struct {
	consents, second      []uint64
	maxConsent, maxSecond int
}

// readVendorSections reads both; the second's bit set only with
// keepSecond.
func readVendorSections(r *bitReader, keepSecond bool) (vendorSections, failure) {
	var vs vendorSections
	var f failure
	if vs.consents, vs.maxConsent, f = readVendorSection(r, true); !f.ok() {
		return vs, f
	}
	vs.second, vs.maxSecond, f = readVendorSection(r, keepSecond)
	return vs, f
}

// readVendorSection reads MaxVendorId, IsRangeEncoding and a bit field or a
// range list. With keep it returns the consent bit set.
func readVendorSection(r *bitReader, keep bool) ([]uint64, int, failure) {
	maxV := int(r.read(16))
	isRange := r.readBool()
	if r.err != 0 {
		return nil, 0, failure{reason: r.err, what: "vendor section too short"}
	}
	var set []uint64
	if keep && maxV > 0 {
		set = make([]uint64, maxV/64+1)
	}
	if !isRange {
		if r.pos+maxV > r.bits() {
			return nil, 0, failure{reason: ReasonTruncated, what: "vendor bit field too short"}
		}
		if set != nil {
			for id := 1; id <= maxV; id++ {
				if r.bit(r.pos+id-1) == 1 {
					set[id/64] |= 1 << uint(id%64)
				}
			}
		}
		r.skip(maxV)
		return set, maxV, failure{}
	}
	if f := readRanges(r, set, maxV); !f.ok() {
		return nil, 0, f
	}
	return set, maxV, failure{}
}

// readRanges reads NumEntries then {IsARange, StartOrOnlyVendorId,
// EndVendorId}; ids go into set when it is not nil. An id of 0, an end
// before its start or an id above max is ReasonBadRange.
func readRanges(r *bitReader, set []uint64, max int) failure {
	n := int(r.read(12))
	for i := 0; i < n; i++ {
		isRange := r.readBool()
		start := int(r.read(16))
		end := start
		if isRange {
			end = int(r.read(16))
		}
		if r.err != 0 {
			return failure{reason: r.err, what: "vendor range too short"}
		}
		if start == 0 || end < start || end > max {
			return failure{reason: ReasonBadRange, what: "vendor range out of bounds"}
		}
		if set != nil {
			setRange(set, start, end)
		}
	}
	if r.err != 0 {
		return failure{reason: r.err, what: "vendor range too short"}
	}
	return failure{}
}

// setRange sets bits start..end (inclusive) a word at a time, so an
// absurd range list costs at most NumEntries × 1,024 word writes.
func setRange(set []uint64, start, end int) {
	for id := start; id <= end; {
		w, b := id/64, id%64
		n := 64 - b
		if id+n-1 > end {
			n = end - id + 1
		}
		var mask uint64
		if n == 64 {
			mask = ^uint64(0)
		} else {
			mask = (1<<uint(n) - 1) << uint(b)
		}
		set[w] |= mask
		id += n
	}
}

// hasVendor reports whether vendor id has consent.
func (t *tcfResult) hasVendor(id int) bool {
	return id > 0 && id/64 < len(t.vendors) && t.vendors[id/64]&(1<<uint(id%64)) != 0
}

// Purpose to category mapping, TCF v2.2 purposes (Policies, Appendix A):
//
//	1 Store and/or access information on a device  -> every non-necessary category
//	2 Use limited data to select advertising        -> advertising, social
//	3 Create profiles for personalised advertising -> advertising, social
//	4 Use profiles to select personalised ads      -> advertising, social
//	5 Create profiles to personalise content       -> functional
//	6 Use profiles to select personalised content  -> functional
//	7 Measure advertising performance              -> analytics
//	8 Measure content performance                  -> analytics
//	9 Understand audiences (statistics)            -> analytics
//	10 Develop and improve services, 11 Use limited data to select content:
//	   not mapped (they do not decide a category on their own)
//
// A category is granted only when purpose 1 and every purpose mapped to it
// have consent; otherwise the TC string denies it. Legitimate interest is
// not consent and grants nothing.
var purposeCategories = [...]struct {
	cat      rules.Category
	purposes uint32 // bit i-1 = purpose i
}{
	{rules.Functional, p(1, 5, 6)},
	{rules.Analytics, p(1, 7, 8, 9)},
	{rules.Advertising, p(1, 2, 3, 4)},
	{rules.Social, p(1, 2, 3, 4)},
}

func p(ids ...int) uint32 {
	var m uint32
	for _, id := range ids {
		m |= 1 << uint(id-1)
	}
	return m
}

// categoriesFromPurposes splits the non-necessary categories into those the
// purpose consents grant and those they deny.
func categoriesFromPurposes(purposes uint32) (granted, denied rules.Categories) {
	for _, pc := range purposeCategories {
		if purposes&pc.purposes == pc.purposes {
			granted |= rules.Of(pc.cat)
		} else {
			denied |= rules.Of(pc.cat)
		}
	}
	return granted, denied
}

// bitList lists i+1 for each set bit i below n (LSB-first sets).
func bitList(v uint64, n int) []int {
	out := []int{}
	for i := 0; i < n; i++ {
		if v&(1<<uint(i)) != 0 {
			out = append(out, i+1)
		}
	}
	return out
}

// msbList lists i+1 for each bit i of an n-bit field read MSB first.
func msbList(v uint64, n int) []int {
	out := []int{}
	for i := 0; i < n; i++ {
		if v&(1<<uint(n-1-i)) != 0 {
			out = append(out, i+1)
		}
	}
	return out
}

func vendorList(set []uint64) []int {
	out := []int{}
	for w, bits := range set {
		for b := 0; b < 64; b++ {
			if bits&(1<<uint(b)) != 0 {
				out = append(out, w*64+b)
			}
		}
	}
	return out
}
