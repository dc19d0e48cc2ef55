package signals

// TCF Canada, GPP section 5 (API prefix tcfcav1). Sources: the IAB section
// specification (InteractiveAdvertisingBureau/Global-Privacy-Platform,
// Sections/Canada/"GPPExtension: IAB Canada TCF.md", and the earlier
// "GPPExtension: IAB TCF Canada Technical Spec.md"), cross-checked with the
// IAB reference encoders (IABTechLab/iabgpp-es
// modules/cmpapi/src/encoder/segment/TcfCaV1CoreSegment.ts and
// field/TcfCaV1Field.ts; IABTechLab/iabgpp-java TcfCaV1.java) and
// noirotm/iabgpp-rs iab_gpp/src/sections/tcfcav1.rs.
//
// Core segment, in order (bits):
//
//	Version                       6   must be 1
//	Created, LastUpdated         36   each, deciseconds since 1970
//	CmpId, CmpVersion            12   each
//	ConsentScreen                 6
//	ConsentLanguage              12   two letters, 6 bits each ('A' + n)
//	VendorListVersion            12
//	TcfPolicyVersion              6
//	UseNonStandardStacks          1
//	SpecialFeatureExpressConsent 12   bit i: special feature i+1
//	PurposesExpressConsent       24   bit i: purpose i+1
//	PurposesImpliedConsent       24   bit i: purpose i+1
//	VendorExpressConsent          *   see below
//	VendorImpliedConsent          *
//	PubRestrictions               *   TCF CA v1.1; absent in older strings
//
// The vendor lists are written by every reference implementation as
// MaxVendorId int(16), IsRangeEncoding bool, then a bit field of
// MaxVendorId bits or an int range (int(12) NumEntries, per entry IsARange
// bool, int(16) start, int(16) end if a range): the TC string vendor
// section layout, which readVendorSection reads. The specification table
// names the type "OptimizedRange" (a Fibonacci range); iabgpp-rs notes the
// mismatch and follows the encoders, as does this decoder.
//
// PubRestrictions is N-ArrayOfRanges(6,2): int(12) NumPubRestrictions, then
// per entry PurposeId int(6), RestrictionType int(2) (0 not allowed, 1
// require express consent, 2 require implied consent, 3 undefined) and the
// vendor ids. The encoders disagree on the encoding of those ids (iabgpp-java
// and the iabgpp-es source write the vendor layout above, the iabgpp-es test
// vector a bare int range, iabgpp-rs a Fibonacci OptimizedRange); this
// decoder reads the iabgpp-java layout. Restrictions decide nothing here;
// they are read so a malformed string fails. Fewer than 12 bits left after
// VendorImpliedConsent means a v1.0 string without the field.
//
// Optional segments after '.', each with an int(3) SegmentType: 1
// DisclosedVendors (the vendor layout above), 3 publisher purposes
// (PubPurposesExpressConsent 24, PubPurposesImpliedConsent 24,
// NumCustomPurposes 6, CustomPurposesExpressConsent and
// CustomPurposesImpliedConsent NumCustomPurposes bits each). Any other type
// is ReasonBadValue.
//
// The decision reads PurposesExpressConsent and VendorExpressConsent only,
// exactly as a TC string's PurposesConsent and vendor consents: see
// purposeCategories and doc.go. Implied consent is TCF Canada's counterpart
// of legitimate interest ("References to 'legitimate interest' should be
// read as 'implied consent'", section specification) and, like legitimate
// interest in a TC string, grants nothing.

// parseTCFCA decodes a tcfcav1 section. The result's purposes and vendors
// are the express consents.
func parseTCFCA(s []byte, sink *tcfSink) tcfResult {
	var res tcfResult
	r, h, segs, hasSegs, f := tcfCore(s, 1, "tcfcav1 version is not 1")
	if res.fail = f; !f.ok() {
		return res
	}
	nonStandard := r.readBool()
	sf := r.read(12)
	pe := r.read(24)
	pi := r.read(24)
	if r.err != 0 {
		res.fail = failure{reason: r.err, what: "core segment too short"}
		return res
	}
	for i := 0; i < 12; i++ {
		if sf&(1<<uint(11-i)) != 0 {
			res.specialFeatures |= 1 << uint(i)
		}
	}
	for i := 0; i < 24; i++ {
		if pe&(1<<uint(23-i)) != 0 {
			res.purposes |= 1 << uint(i)
		}
	}
	explain := sink != nil
	vs, f := readVendorSections(&r, explain)
	res.vendors = vs.consents
	if !f.ok() {
		res.fail = f
		return res
	}
	maxV, implied, maxI := vs.maxConsent, vs.second, vs.maxSecond
	var restrictions []map[string]any
	if explain {
		restrictions = []map[string]any{}
	}
	if r.bits()-r.pos >= 12 {
		nr := int(r.read(12))
		for i := 0; i < nr && r.err == 0; i++ {
			purpose := r.read(6)
			t := r.read(2)
			if r.err == 0 && t == 3 {
				res.fail = failure{reason: ReasonBadValue, what: "publisher restriction type 3 is undefined"}
				return res
			}
			ids, _, f := readVendorSection(&r, explain)
			if !f.ok() {
				res.fail = f
				return res
			}
			if explain {
				restrictions = append(restrictions, map[string]any{
					"PurposeId": int(purpose), "RestrictionType": int(t), "Vendors": vendorList(ids),
				})
			}
		}
		if r.err != 0 {
			res.fail = failure{reason: r.err, what: "publisher restrictions too short"}
			return res
		}
	}
	var out map[string]any
	if explain {
		out = map[string]any{
			"Version":                      1,
			"Created":                      h.created,
			"LastUpdated":                  h.updated,
			"CmpId":                        int(h.cmpID),
			"CmpVersion":                   int(h.cmpVersion),
			"ConsentScreen":                int(h.screen),
			"ConsentLanguage":              h.language(),
			"VendorListVersion":            int(h.vlVersion),
			"TcfPolicyVersion":             int(h.policy),
			"UseNonStandardStacks":         nonStandard,
			"SpecialFeatureExpressConsent": bitList(uint64(res.specialFeatures), 12),
			"PurposesExpressConsent":       bitList(uint64(res.purposes), 24),
			"PurposesImpliedConsent":       msbList(pi, 24),
			"MaxVendorExpressConsent":      maxV,
			"VendorExpressConsent":         vendorList(vs.consents),
			"MaxVendorImpliedConsent":      maxI,
			"VendorImpliedConsent":         vendorList(implied),
			"PubRestrictions":              restrictions,
		}
	}
	// Optional segments, in any order.
	opt, f := readTCFSegments(segs, hasSegs, false, explain)
	if !f.ok() {
		res.fail = f
		return res
	}
	if out != nil {
		if opt.has&(1<<segDisclosed) != 0 {
			out["DisclosedVendors"] = vendorList(opt.disclosed)
		}
		if opt.has&(1<<segPublisherTC) != 0 {
			out["PubPurposesExpressConsent"] = msbList(opt.pubConsent, 24)
			out["PubPurposesImpliedConsent"] = msbList(opt.pubLI, 24)
			out["NumCustomPurposes"] = opt.numCustom
			out["CustomPurposesExpressConsent"] = msbList(opt.customConsent, opt.numCustom)
			out["CustomPurposesImpliedConsent"] = msbList(opt.customLI, opt.numCustom)
		}
	}
	res.present = true
	if sink != nil {
		sink.out = out
	}
	return res
}
