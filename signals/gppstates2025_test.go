package signals

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The 2025 US state sections: usmd (24), usin (25), usky (26), usri (27).
//
// Layout, from the IAB specifications (InteractiveAdvertisingBureau/
// Global-Privacy-Platform b27beb411c14d48d7fb36c09e2abdf49c20d7d8d,
// Sections/US-States/{MD/Maryland,IN/Indiana,KY/Kentucky,RI/Rhode Island}
// Privacy Technical Specification.md, "Core Subsection" and the subsection
// tables) and the IAB reference encoder (IABTechLab/iabgpp-es
// fd0546e7b28e7e186bc27aac6375e6c10a80e47e, modules/cmpapi/src/encoder/
// field/Us{Md,In,Ky,Ri}Field.ts, segment/Us*CoreSegment.ts,
// segment/UsMdGpcSegment.ts, segment/Us{In,Ky,Ri}SensitiveDataConsentSegment.ts):
//
//	core: MspaVersion 6, MspaCoveredTransaction 2, MspaMode 2,
//	      ProcessingNotice 2, SaleOptOutNotice 2,
//	      TargetedAdvertisingOptOutNotice 2, SaleOptOut 2,
//	      TargetedAdvertisingOptOut 2, then
//	      usmd:           AdditionalDataProcessingConsent 2
//	      usin/usky/usri: KnownChildSensitiveDataConsents 2,
//	                      AdditionalDataProcessingConsent 2
//	after '.': usmd a GPC subsection (SubsectionType 2 = 1, Gpc 1);
//	      usin/usky/usri a Sensitive Data Consents subsection,
//	      SensitiveDataProcessing N-Bitfield(2,8) and no type field.
//
// Vectors: iabgpp-es modules/cmpapi/test/encoder/section/Us{Md,In,Ky,Ri}.test.ts
// at the commit above ("should encode default" line 8, "should encode with
// all fields set" lines 11-25, "…segment excluded" lines 28-31, "should
// decode" lines 46-56); GppModel.test.ts line 464 ("should decode
// defaults from all sections", ids 2 and 5-27). iabgpp-java (a51d55f) has
// no such sections yet. The "spec" vectors were encoded here field by field
// from the specification tables (encodeFields), with values that differ
// from one another so that a shifted field shows.

var (
	usmdAll     = map[string]any{"MspaVersion": 1, "MspaCoveredTransaction": 1, "MspaMode": 1, "ProcessingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1, "SaleOptOut": 1, "TargetedAdvertisingOptOut": 1, "AdditionalDataProcessingConsent": 1}
	usmdDefault = map[string]any{"MspaVersion": 1, "MspaCoveredTransaction": 1, "MspaMode": 0, "ProcessingNotice": 0, "SaleOptOutNotice": 0, "TargetedAdvertisingOptOutNotice": 0, "SaleOptOut": 0, "TargetedAdvertisingOptOut": 0, "AdditionalDataProcessingConsent": 0}
	usinAll     = map[string]any{"MspaVersion": 1, "MspaCoveredTransaction": 1, "MspaMode": 1, "ProcessingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1, "SaleOptOut": 1, "TargetedAdvertisingOptOut": 1, "KnownChildSensitiveDataConsents": 1, "AdditionalDataProcessingConsent": 1}
	usinDefault = map[string]any{"MspaVersion": 1, "MspaCoveredTransaction": 1, "MspaMode": 0, "ProcessingNotice": 0, "SaleOptOutNotice": 0, "TargetedAdvertisingOptOutNotice": 0, "SaleOptOut": 0, "TargetedAdvertisingOptOut": 0, "KnownChildSensitiveDataConsents": 0, "AdditionalDataProcessingConsent": 0}
)

// with returns m with the given members added.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// encodeFields writes fields, each {bits, value}, as base64url, padded with
// zero bits to a whole character: how the IAB encoders write a segment.
func encodeFields(fields ...[2]int) string {
	var bits []byte
	for _, f := range fields {
		for i := f[0] - 1; i >= 0; i-- {
			bits = append(bits, byte(f[1]>>uint(i))&1)
		}
	}
	for len(bits)%6 != 0 {
		bits = append(bits, 0)
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	for i := 0; i < len(bits); i += 6 {
		c := 0
		for _, x := range bits[i : i+6] {
			c = c<<1 | int(x)
		}
		b.WriteByte(alpha[c])
	}
	return b.String()
}

// core2025 encodes a 2025 core segment: MspaVersion 1, then 2-bit values.
func core2025(vals ...int) string {
	f := [][2]int{{6, 1}}
	for _, v := range vals {
		f = append(f, [2]int{2, v})
	}
	return encodeFields(f...)
}

// twoBit encodes a list of 2-bit values (a Sensitive Data Consents
// subsection).
func twoBit(vals ...int) string {
	var f [][2]int
	for _, v := range vals {
		f = append(f, [2]int{2, v})
	}
	return encodeFields(f...)
}

func TestEncodeFieldsMatchesReference(t *testing.T) {
	// iabgpp-es UsMd.test.ts line 24 and UsIn.test.ts line 25.
	if got := core2025(1, 1, 1, 1, 1, 1, 1, 1); got != "BVVU" {
		t.Errorf("usmd all 1 = %q, want BVVU", got)
	}
	if got := core2025(1, 1, 1, 1, 1, 1, 1, 1, 1) + "." + twoBit(2, 1, 0, 2, 1, 0, 2, 1); got != "BVVV.kkk" {
		t.Errorf("usin all set = %q, want BVVV.kkk", got)
	}
}

func TestGPPStateSections2025Reference(t *testing.T) {
	sens := []int{2, 1, 0, 2, 1, 0, 2, 1}
	zero := []int{0, 0, 0, 0, 0, 0, 0, 0}
	var tests []stateVector
	tests = append(tests,
		stateVector{"usmd BVVU.YA", 24, "BVVU.YA", with(usmdAll, "Gpc", true), true},
		stateVector{"usmd BVVU", 24, "BVVU", usmdAll, true},
		stateVector{"usmd default BQAA.QA", 24, "BQAA.QA", with(usmdDefault, "Gpc", false), false},
		stateVector{"usmd default BQAA", 24, "BQAA", usmdDefault, false},
	)
	for _, s := range []struct {
		id   int
		name string
	}{{25, "usin"}, {26, "usky"}, {27, "usri"}} {
		tests = append(tests,
			stateVector{s.name + " BVVV.kkk", s.id, "BVVV.kkk", with(usinAll, "SensitiveDataProcessing", sens), true},
			stateVector{s.name + " BVVV", s.id, "BVVV", usinAll, true},
			stateVector{s.name + " default BQAA.AAA", s.id, "BQAA.AAA", with(usinDefault, "SensitiveDataProcessing", zero), false},
			stateVector{s.name + " default BQAA", s.id, "BQAA", usinDefault, false},
		)
	}
	checkStateVectors(t, tests)
}

// TestGPPStateSections2025SpecDerived: one opt-out at a time, and
// sensitive-data values that a GPC reading of the subsection would take
// for "Gpc true" (a first value of 1, "No Consent", reads as
// SubsectionType 1; the next bit as Gpc).
func TestGPPStateSections2025SpecDerived(t *testing.T) {
	mdNone := map[string]any{"MspaVersion": 1, "MspaCoveredTransaction": 2, "MspaMode": 1, "ProcessingNotice": 1, "SaleOptOutNotice": 2, "TargetedAdvertisingOptOutNotice": 1, "SaleOptOut": 2, "TargetedAdvertisingOptOut": 2, "AdditionalDataProcessingConsent": 2}
	inNone := map[string]any{"MspaVersion": 1, "MspaCoveredTransaction": 2, "MspaMode": 1, "ProcessingNotice": 1, "SaleOptOutNotice": 2, "TargetedAdvertisingOptOutNotice": 1, "SaleOptOut": 2, "TargetedAdvertisingOptOut": 2, "KnownChildSensitiveDataConsents": 0, "AdditionalDataProcessingConsent": 2}
	alt := []int{1, 2, 1, 2, 1, 2, 1, 2}
	tests := []stateVector{
		{"usmd none", 24, core2025(2, 1, 1, 2, 1, 2, 2, 2), mdNone, false},
		{"usmd none gpc false", 24, core2025(2, 1, 1, 2, 1, 2, 2, 2) + ".QA", with(mdNone, "Gpc", false), false},
		{"usmd gpc", 24, core2025(2, 1, 1, 2, 1, 2, 2, 2) + ".YA", with(mdNone, "Gpc", true), true},
		{"usmd sale", 24, core2025(2, 1, 1, 2, 1, 1, 2, 2), with(mdNone, "SaleOptOut", 1), true},
		{"usmd ta", 24, core2025(2, 1, 1, 2, 1, 2, 1, 2), with(mdNone, "TargetedAdvertisingOptOut", 1), true},
	}
	for _, s := range []struct {
		id   int
		name string
	}{{25, "usin"}, {26, "usky"}, {27, "usri"}} {
		tests = append(tests,
			stateVector{s.name + " none", s.id, core2025(2, 1, 1, 2, 1, 2, 2, 0, 2), inNone, false},
			stateVector{s.name + " none, sensitive 1,2,…", s.id, core2025(2, 1, 1, 2, 1, 2, 2, 0, 2) + "." + twoBit(alt...),
				with(inNone, "SensitiveDataProcessing", alt), false},
			stateVector{s.name + " sale", s.id, core2025(2, 1, 1, 2, 1, 1, 2, 0, 2) + "." + twoBit(alt...),
				with(inNone, "SaleOptOut", 1, "SensitiveDataProcessing", alt), true},
			stateVector{s.name + " ta", s.id, core2025(2, 1, 1, 2, 1, 2, 1, 0, 2),
				with(inNone, "TargetedAdvertisingOptOut", 1), true},
			stateVector{s.name + " known child", s.id, core2025(2, 1, 1, 2, 1, 2, 2, 1, 2),
				with(inNone, "KnownChildSensitiveDataConsents", 1), false},
		)
	}
	checkStateVectors(t, tests)
}

func TestGPPStateSections2025Malformed(t *testing.T) {
	tests := []struct {
		name    string
		id      int
		section string
		want    Reason
	}{
		{"usmd core too short", 24, "BVV", ReasonTruncated},
		{"usmd MspaVersion 2", 24, "CVVU", ReasonBadVersion},
		{"usmd value 3", 24, core2025(1, 1, 1, 1, 1, 1, 1, 3), ReasonBadValue},
		// The specification's "Section Header" table (SectionID 6, Version
		// 6, SubSections Fibonacci) is written by no IAB encoder; a string
		// that starts with it starts with the section id, not MspaVersion
		// 1, and fails closed.
		{"usmd section header form", 24, encodeFields([2]int{6, 24}, [2]int{6, 1}, [2]int{12, 0}), ReasonBadVersion},
		{"usin core too short", 25, "BVV", ReasonTruncated},
		{"usin sensitive too short", 25, "BVVV.k", ReasonTruncated},
		{"usin sensitive value 3", 25, "BVVV." + twoBit(2, 1, 0, 3, 1, 0, 2, 1), ReasonBadValue},
		{"usin two subsections", 25, "BVVV.kkk.YA", ReasonBadValue},
		{"usky sensitive bad base64", 26, "BVVV.k*k", ReasonBadBase64},
		{"usri empty subsection", 27, "BVVV.", ReasonEmpty},
	}
	for _, tt := range tests {
		s := gppHeader(tt.id) + "~" + tt.section
		res, _ := explainGPP(s)
		if res.fail.reason != tt.want {
			t.Errorf("%s %q: reason %v (%q), want %v", tt.name, s, res.fail.reason, res.fail.what, tt.want)
		}
		if r := parseGPP([]byte(s), nil); r.fail != res.fail {
			t.Errorf("%s: Read and Explain fail differently: %+v / %+v", tt.name, r.fail, res.fail)
		}
	}
}

// TestGPPAllSectionsDefaults decodes iabgpp-es's string with every section
// (GppModel.test.ts line 464): each one decodes, nothing opts out.
func TestGPPAllSectionsDefaults(t *testing.T) {
	const s = "DBACOcGA~CPSG_8APSG_8ANwAAAENAAFgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA~BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA~1---~BAAAAAAAAABA.QA~BAAAAABA.QA~BAAAABA~BAAAAEA.QA~BAAAAAQA~BAAAAAEA.QA~BAAAAABA~BAAAAABA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BAAAAABA.QA~BAAAAAAAQA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BQAA.QA~BQAA.AAA~BQAA.AAA~BQAA.AAA"
	res, sink := explainGPP(s)
	if !res.fail.ok() {
		t.Fatalf("failure %+v", res.fail)
	}
	want := []int{2}
	for id := 5; id <= 27; id++ {
		want = append(want, id)
	}
	if !reflect.DeepEqual(sink.ids, want) {
		t.Errorf("ids %v, want %v", sink.ids, want)
	}
	if res.optOut != 0 {
		t.Errorf("optOut %b, want none", res.optOut)
	}
	for _, name := range []string{"usmd", "usin", "usky", "usri"} {
		if sink.sections[name] == nil {
			t.Errorf("no %s section in %v", name, sink.sections)
		}
	}
	if got := sink.sections["usri"].(map[string]any); !reflect.DeepEqual(got, with(usinDefault, "SensitiveDataProcessing", []int{0, 0, 0, 0, 0, 0, 0, 0})) {
		t.Errorf("usri = %v", got)
	}
}

// TestUSSectionTablesMatchSpec compares every US section table with the
// core field table of its IAB specification, transcribed here: field name,
// then width in bits, or 2xN for an N-Bitfield(2,N). Source:
// InteractiveAdvertisingBureau/Global-Privacy-Platform
// b27beb411c14d48d7fb36c09e2abdf49c20d7d8d, Sections/US-National/"IAB
// Privacy’s Multi-State Privacy Agreement (MSPA) US National Technical
// Specification.md" (usnat v2) and Sections/US-States/<ST>/… (every
// state), "Core Segment"/"Core Subsection" tables; gpc says whether the
// specification defines the GPC subsection. One name differs on purpose:
// the Tennessee table spells KnownChildSensitiveDataConsent, every other
// table and iabgpp-es (field/UsTnField.ts) KnownChildSensitiveDataConsents.
func TestUSSectionTablesMatchSpec(t *testing.T) {
	const (
		mspa3   = " MspaCoveredTransaction:2 MspaOptOutOptionMode:2 MspaServiceProviderMode:2"
		core25  = "MspaVersion:6 MspaCoveredTransaction:2 MspaMode:2 ProcessingNotice:2 SaleOptOutNotice:2 TargetedAdvertisingOptOutNotice:2 SaleOptOut:2 TargetedAdvertisingOptOut:2"
		proc    = "Version:6 ProcessingNotice:2 SaleOptOutNotice:2 TargetedAdvertisingOptOutNotice:2 SaleOptOut:2 TargetedAdvertisingOptOut:2"
		sharing = "Version:6 SharingNotice:2 SaleOptOutNotice:2 TargetedAdvertisingOptOutNotice:2 SaleOptOut:2 TargetedAdvertisingOptOut:2"
	)
	spec := []struct {
		id        int
		version   uint64
		layout    string
		gpc       bool
		sensitive int
	}{
		{7, 2, "Version:6 SharingNotice:2 SaleOptOutNotice:2 SharingOptOutNotice:2 TargetedAdvertisingOptOutNotice:2 SensitiveDataProcessingOptOutNotice:2 SensitiveDataLimitUseNotice:2 SaleOptOut:2 SharingOptOut:2 TargetedAdvertisingOptOut:2 SensitiveDataProcessing:2x16 KnownChildSensitiveDataConsents:2x3 PersonalDataConsents:2" + mspa3, true, 0},
		{8, 1, "Version:6 SaleOptOutNotice:2 SharingOptOutNotice:2 SensitiveDataLimitUseNotice:2 SaleOptOut:2 SharingOptOut:2 SensitiveDataProcessing:2x9 KnownChildSensitiveDataConsents:2x2 PersonalDataConsents:2" + mspa3, true, 0},
		{9, 1, sharing + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2" + mspa3, false, 0},
		{10, 1, sharing + " SensitiveDataProcessing:2x7 KnownChildSensitiveDataConsents:2" + mspa3, true, 0},
		{11, 1, "Version:6 SharingNotice:2 SaleOptOutNotice:2 TargetedAdvertisingOptOutNotice:2 SensitiveDataProcessingOptOutNotice:2 SaleOptOut:2 TargetedAdvertisingOptOut:2 SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2" + mspa3, false, 0},
		{12, 1, sharing + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2x3" + mspa3, true, 0},
		{13, 1, proc + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2x3 AdditionalDataProcessingConsent:2" + mspa3, false, 0},
		{14, 1, sharing + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2x3 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{15, 1, proc + " SensitiveDataProcessing:2x11 KnownChildSensitiveDataConsents:2x3 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{16, 1, proc + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{17, 1, proc + " SensitiveDataProcessing:2x9 KnownChildSensitiveDataConsents:2x5 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{18, 1, "Version:6 ProcessingNotice:2 SaleOptOutNotice:2 TargetedAdvertisingOptOutNotice:2 SensitiveDataOptOutNotice:2 SaleOptOut:2 TargetedAdvertisingOptOut:2 SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2" + mspa3, true, 0},
		{19, 1, proc + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{20, 1, proc + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2x3 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{21, 1, proc + " SensitiveDataProcessing:2x10 KnownChildSensitiveDataConsents:2x5 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{22, 1, proc + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{23, 1, proc + " SensitiveDataProcessing:2x8 KnownChildSensitiveDataConsents:2 AdditionalDataProcessingConsent:2" + mspa3, true, 0},
		{24, 1, core25 + " AdditionalDataProcessingConsent:2", true, 0},
		{25, 1, core25 + " KnownChildSensitiveDataConsents:2 AdditionalDataProcessingConsent:2", false, 8},
		{26, 1, core25 + " KnownChildSensitiveDataConsents:2 AdditionalDataProcessingConsent:2", false, 8},
		{27, 1, core25 + " KnownChildSensitiveDataConsents:2 AdditionalDataProcessingConsent:2", false, 8},
	}
	seen := map[int]bool{}
	for _, s := range spec {
		sec, _ := usSectionFor(s.id, s.version)
		if sec == nil {
			t.Errorf("section %d v%d: no table", s.id, s.version)
			continue
		}
		seen[s.id] = true
		var got []string
		for _, f := range sec.fields {
			if f.n > 0 {
				got = append(got, f.name+":"+strconv.Itoa(int(f.bits))+"x"+strconv.Itoa(int(f.n)))
			} else {
				got = append(got, f.name+":"+strconv.Itoa(int(f.bits)))
			}
		}
		if g := strings.Join(got, " "); g != s.layout {
			t.Errorf("%s (%d):\n got %s\nwant %s", sec.name, s.id, g, s.layout)
		}
		if sec.gpc != s.gpc || int(sec.sensitive) != s.sensitive {
			t.Errorf("%s: gpc %v sensitive %d, want %v %d", sec.name, sec.gpc, sec.sensitive, s.gpc, s.sensitive)
		}
	}
	for i := range usSections {
		if !seen[usSections[i].id] {
			t.Errorf("section %s (%d) has no specification layout here", usSections[i].name, usSections[i].id)
		}
	}
}
