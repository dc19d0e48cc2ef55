package signals

import (
	"reflect"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

func explainGPP(s string) (gppResult, *gppSink) {
	sink := &gppSink{ids: []int{}, sections: map[string]any{}}
	return parseGPP([]byte(s), sink), sink
}

// Header examples from the GPP Consent String Specification
// (InteractiveAdvertisingBureau/Global-Privacy-Platform, Core/Consent String
// Specification.md, "Header Example 1-3") and the usnat example of
// consent-formats notes.
func TestGPPHeaderSpecExamples(t *testing.T) {
	f := func(header string, sections []string, want []int) {
		t.Helper()
		s := header + "~" + strings.Join(sections, "~")
		res, sink := explainGPP(s)
		if !res.fail.ok() {
			t.Fatalf("%q: unexpected failure %v", s, res.fail)
		}
		if !reflect.DeepEqual(sink.ids, want) {
			t.Errorf("%q: section ids %v, want %v", s, sink.ids, want)
		}
	}
	f("DBABMA", []string{"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"}, []int{2})
	f("DBACNYA", []string{"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", "1YNN"}, []int{2, 6})
	// A range: 5..6. The specification's example puts a TC string (version
	// 2) in the tcfcav1 slot; a real tcfcav1 section (iabgpp-rs "basic")
	// stands in, since section 5 is decoded.
	f("DBABjw", []string{"BPXuQIAPXuQIAAfKABENB-CgAAAAAAAAAAAAAAAA", "1YNN"}, []int{5, 6})
	f("DBABLA", []string{"BVVqAAEABCA.QA"}, []int{7})
	f("DBABTA", []string{"1YYY"}, []int{6})
}

// gppUSVectors are section vectors transcribed from LiveRamp/iabconsent
// mspa_parsed_consent_fixture_test.go (strings made at iabgpp.com) and
// IABTechLab/iabgpp-es test/encoder/section/*.test.ts. Values: notices and
// opt-outs 0 n/a, 1 yes/opted out, 2 no; consents 0 n/a, 1 no, 2 yes.
var gppUSVectors = []struct {
	name    string
	header  string
	section string
	key     string
	want    map[string]any
	optOut  bool
}{
	{"usnat v1 gpc false", "DBABLA", "BVVqAAEABCA.QA", "usnat", map[string]any{
		"Version": 1, "SharingNotice": 1, "SaleOptOutNotice": 1, "SharingOptOutNotice": 1,
		"TargetedAdvertisingOptOutNotice": 1, "SensitiveDataProcessingOptOutNotice": 1,
		"SensitiveDataLimitUseNotice": 1, "SaleOptOut": 2, "SharingOptOut": 2,
		"TargetedAdvertisingOptOut":       2,
		"SensitiveDataProcessing":         []int{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},
		"KnownChildSensitiveDataConsents": []int{0, 0}, "PersonalDataConsents": 1,
		"MspaCoveredTransaction": 0, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 2,
		"Gpc": false,
	}, false},
	{"usnat v1 gpc true", "DBABLA", "BVVqAAEABCA.YA", "usnat", nil, true},
	{"usnat v1 no subsection", "DBABLA", "BqqAqqqqqqA", "usnat", map[string]any{
		"Version": 1, "SharingNotice": 2, "SaleOptOutNotice": 2, "SharingOptOutNotice": 2,
		"TargetedAdvertisingOptOutNotice": 2, "SensitiveDataProcessingOptOutNotice": 2,
		"SensitiveDataLimitUseNotice": 2, "SaleOptOut": 0, "SharingOptOut": 0,
		"TargetedAdvertisingOptOut":       0,
		"SensitiveDataProcessing":         []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
		"KnownChildSensitiveDataConsents": []int{2, 2}, "PersonalDataConsents": 2,
		"MspaCoveredTransaction": 2, "MspaOptOutOptionMode": 2, "MspaServiceProviderMode": 2,
	}, false},
	// iabgpp-es UsNat.test.ts "BVVVkkkkkpFY.YA" with the version
	// character changed to C (2): the 16/3-field layout of usnat v2.
	{"usnat v2", "DBABLA", "CVVVkkkkkpFY.YA", "usnat", map[string]any{
		"Version": 2, "SharingNotice": 1, "SaleOptOutNotice": 1, "SharingOptOutNotice": 1,
		"TargetedAdvertisingOptOutNotice": 1, "SensitiveDataProcessingOptOutNotice": 1,
		"SensitiveDataLimitUseNotice": 1, "SaleOptOut": 1, "SharingOptOut": 1,
		"TargetedAdvertisingOptOut":       1,
		"SensitiveDataProcessing":         []int{2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2},
		"KnownChildSensitiveDataConsents": []int{2, 1, 0}, "PersonalDataConsents": 1,
		"MspaCoveredTransaction": 1, "MspaOptOutOptionMode": 1, "MspaServiceProviderMode": 2,
		"Gpc": true,
	}, true},
	{"usca gpc true", gppHeader(8), "BVoYYZoI.YA", "usca", map[string]any{
		"Version": 1, "SaleOptOutNotice": 1, "SharingOptOutNotice": 1, "SensitiveDataLimitUseNotice": 1,
		"SaleOptOut": 2, "SharingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0, 1, 2},
		"KnownChildSensitiveDataConsents": []int{1, 2}, "PersonalDataConsents": 2,
		"MspaCoveredTransaction": 0, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 2,
		"Gpc": true,
	}, true},
	{"usca", gppHeader(8), "BVoYYZoI", "usca", nil, false},
	{"usva", gppHeader(9), "BVoYYYI", "usva", map[string]any{
		"Version": 1, "SharingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1,
		"SaleOptOut": 2, "TargetedAdvertisingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0, 1},
		"KnownChildSensitiveDataConsents": 2,
		"MspaCoveredTransaction":          0, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 2,
	}, false},
	{"usva gpc true", gppHeader(9), "BVoYYYI.YA", "usva", nil, true},
	{"usco", gppHeader(10), "BVoYYQg", "usco", map[string]any{
		"Version": 1, "SharingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1,
		"SaleOptOut": 2, "TargetedAdvertisingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0},
		"KnownChildSensitiveDataConsents": 1,
		"MspaCoveredTransaction":          0, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 2,
	}, false},
	{"usco gpc true", gppHeader(10), "BVoYYQg.YA", "usco", nil, true},
	{"usut", gppHeader(11), "BVaGGGCA.QA", "usut", map[string]any{
		"Version": 1, "SharingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1,
		"SensitiveDataProcessingOptOutNotice": 1, "SaleOptOut": 2, "TargetedAdvertisingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0, 1},
		"KnownChildSensitiveDataConsents": 2,
		"MspaCoveredTransaction":          0, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 2,
		"Gpc": false,
	}, false},
	{"usut gpc true", gppHeader(11), "BVaGGGCA.YA", "usut", nil, true},
	{"usct", gppHeader(12), "BVoYYYQg", "usct", map[string]any{
		"Version": 1, "SharingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1,
		"SaleOptOut": 2, "TargetedAdvertisingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0, 1},
		"KnownChildSensitiveDataConsents": []int{2, 0, 1},
		"MspaCoveredTransaction":          0, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 2,
	}, false},
	{"usct gpc true", gppHeader(12), "BVoYYYQg.YA", "usct", nil, true},
	{"usfl", gppHeader(13), "BVoYYZgI", "usfl", map[string]any{
		"Version": 1, "ProcessingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1,
		"SaleOptOut": 2, "TargetedAdvertisingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0, 1},
		"KnownChildSensitiveDataConsents": []int{2, 1, 2}, "AdditionalDataProcessingConsent": 0,
		"MspaCoveredTransaction": 0, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 2,
	}, false},
	{"usmt", gppHeader(14), "BVoYYIaA.YA", "usmt", map[string]any{
		"Version": 1, "SharingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1,
		"SaleOptOut": 2, "TargetedAdvertisingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0, 0},
		"KnownChildSensitiveDataConsents": []int{2, 0, 1}, "AdditionalDataProcessingConsent": 2,
		"MspaCoveredTransaction": 2, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 0,
		"Gpc": true,
	}, true},
	{"usor", gppHeader(15), "BVoYYYgQaC", "usor", map[string]any{
		"Version": 1, "ProcessingNotice": 1, "SaleOptOutNotice": 1, "TargetedAdvertisingOptOutNotice": 1,
		"SaleOptOut": 2, "TargetedAdvertisingOptOut": 2,
		"SensitiveDataProcessing":         []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 2},
		"KnownChildSensitiveDataConsents": []int{0, 0, 1}, "AdditionalDataProcessingConsent": 0,
		"MspaCoveredTransaction": 0, "MspaOptOutOptionMode": 1, "MspaServiceProviderMode": 2,
	}, false},
}

// TestGPPUSSections decodes gppUSVectors.
func TestGPPUSSections(t *testing.T) {
	for _, tt := range gppUSVectors {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.header + "~" + tt.section
			res, sink := explainGPP(s)
			if !res.fail.ok() {
				t.Fatalf("%q: unexpected failure %+v", s, res.fail)
			}
			if got := res.optOut != 0; got != tt.optOut {
				t.Errorf("%q: opted out %v, want %v", s, got, tt.optOut)
			}
			got, ok := sink.sections[tt.key].(map[string]any)
			if !ok {
				t.Fatalf("%q: no section %q in %v (ids %v)", s, tt.key, sink.sections, sink.ids)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%q:\n got %v\nwant %v", s, got, tt.want)
			}
		})
	}
}

func TestGPPUSPAndTCFSections(t *testing.T) {
	// consent-formats notes / GPP spec header example 2.
	res, sink := explainGPP("DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
	if !res.fail.ok() {
		t.Fatalf("unexpected failure %+v", res.fail)
	}
	if res.optOut != 0 {
		t.Errorf("1YNN opted out")
	}
	usp := sink.sections["uspv1"].(map[string]any)
	if usp["OptOutSale"] != "N" || usp["Notice"] != "Y" {
		t.Errorf("uspv1 = %v", usp)
	}
	tc := sink.sections["tcfeuv2"].(map[string]any)
	if tc["version"] != 2 || !res.tcf.present {
		t.Errorf("tcfeuv2 = %v", tc)
	}
	res, _ = explainGPP("DBABTA~1YYY")
	if res.optOut != 1<<sidUSPv1 {
		t.Errorf("1YYY: optOut %b, want uspv1", res.optOut)
	}
}

func TestParseSID(t *testing.T) {
	f := func(in string, want uint64, ok bool) {
		t.Helper()
		got, gotOK := parseSID([]byte(in))
		if got != want || gotOK != ok {
			t.Errorf("parseSID(%q) = %b, %v; want %b, %v", in, got, gotOK, want, ok)
		}
	}
	f("7", 1<<7, true)
	f("2,7", 1<<2|1<<7, true)
	f("2_6", 1<<2|1<<6, true)
	f("-1", 0, true)
	f("", 0, false)
	f("7,", 0, false)
	f("x", 0, false)
	f("64", 0, false)
	f("99999", 0, false)
}

// Malformed GPP strings: every one is a failure with a reason, never a
// decision to consent.
func TestGPPMalformed(t *testing.T) {
	tests := []struct {
		in   string
		want Reason
	}{
		{"", ReasonEmpty},
		{"D", ReasonTruncated},
		{"DBA", ReasonTruncated},
		{"DBABLA", ReasonBadHeader},                         // no section
		{"DBABLA~", ReasonEmpty},                            // an empty section after ~
		{"DBABLA~BVVq*AEABCA", ReasonBadBase64},             // bad base64
		{"D!ABLA~BVVqAAEABCA", ReasonBadBase64},             // bad base64 in header
		{"EBABLA~BVVqAAEABCA", ReasonBadHeader},             // type 4
		{"DCABLA~BVVqAAEABCA", ReasonBadVersion},            // header version 2
		{"DBABLA~BVVqAAE", ReasonTruncated},                 // usnat cut short
		{"DBABLA~DVVqAAEABCA", ReasonBadVersion},            // usnat version 3
		{"DBABLA~BVVqAAEABCA~BVVqAAEABCA", ReasonBadHeader}, // more sections than listed
		{"DBACNYA~1YNN", ReasonBadVersion},                  // sections out of order: tcf gets "1YNN"
		{"DBABLA~BVVqAAEABCA.", ReasonEmpty},                // empty sub-section
		{"DBABLA~B____________", ReasonBadValue},            // 2-bit fields of 3
		{"DBABTA~1XYZ", ReasonBadValue},                     // uspv1 garbage
		{"DBABVVVVVVVV~x", ReasonBadRange},                  // Fibonacci word without 11
		{"D" + strings.Repeat("A", MaxSignalLen), ReasonTooLong},
		{"C", ReasonTruncated}, // bare TC string, truncated
	}
	for _, tt := range tests {
		res, _ := explainGPP(tt.in)
		if res.fail.reason != tt.want {
			in := tt.in
			if len(in) > 40 {
				in = in[:40] + "…"
			}
			t.Errorf("%q: reason %v (%q), want %v", in, res.fail.reason, res.fail.what, tt.want)
		}
		if res.fail.ok() {
			t.Errorf("%q: parsed", tt.in)
		}
	}
}

// gppHeader encodes a GPP header listing single section ids, for tests of
// sections whose specification gives no header: type 3, version 1, int12
// count, then per id a 0 bit and the Fibonacci-coded offset.
func gppHeader(ids ...int) string {
	var bits []byte
	put := func(v, n int) {
		for i := n - 1; i >= 0; i-- {
			bits = append(bits, byte(v>>uint(i))&1)
		}
	}
	put(3, 6)
	put(1, 6)
	put(len(ids), 12)
	last := 0
	for _, id := range ids {
		bits = append(bits, 0)
		v := id - last
		last = id
		// Fibonacci coding: greedy from the largest term, then a 1.
		var word []byte
		k := 0
		for fib[k+1] <= uint64(v) {
			k++
		}
		word = make([]byte, k+1)
		for i := k; i >= 0; i-- {
			if fib[i] <= uint64(v) {
				word[i] = 1
				v -= int(fib[i])
			}
		}
		bits = append(bits, word...)
		bits = append(bits, 1)
	}
	for len(bits)%8 != 0 {
		bits = append(bits, 0)
	}
	for len(bits)%6 != 0 {
		bits = append(bits, 0)
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var out []byte
	for i := 0; i < len(bits); i += 6 {
		c := 0
		for j := 0; j < 6; j++ {
			c = c<<1 | int(bits[i+j])
		}
		out = append(out, alpha[c])
	}
	return string(out)
}

func TestGPPHeaderEncoderMatchesSpec(t *testing.T) {
	if got := gppHeader(7); got != "DBABLA" {
		t.Errorf("gppHeader(7) = %q, want DBABLA", got)
	}
	if got := gppHeader(2, 6); got != "DBACNYA" {
		t.Errorf("gppHeader(2, 6) = %q, want DBACNYA", got)
	}
}

// A GPP string whose header lists no section ("DBAA") is what the IAB
// encoders write when no section applies. Sources:
//
//   - IABTechLab/iabgpp-es fd0546e7b28e7e186bc27aac6375e6c10a80e47e
//     modules/cmpapi/test/encoder/section/HeaderV1.test.ts lines 5-8 (section
//     ids [] encode to "DBAA") and 23-25 (decode back to []);
//     modules/cmpapi/test/GppModel.test.ts lines 453-460 ("should decode
//     header only": no section); modules/cmpapi/src/encoder/GppModel.ts
//     lines 288-294: a string whose '~' parts do not match the header's
//     count is a DecodingError, so "DBAA~" and "DBAA~x" fail.
//   - IABTechLab/iabgpp-java a51d55f0ac13815f4ee069386236ea033988e5e2
//     iabgpp-encoder/src/test/java/com/iab/gpp/encoder/section/HeaderV1Test.java
//     lines 15 and 35, GppModelTest.java lines 392-398 (testDecodeDefaults:
//     "DBAA" has no section).
func TestGPPHeaderOnly(t *testing.T) {
	res, sink := explainGPP("DBAA")
	if !res.fail.ok() || res.sections != 0 || res.optOut != 0 || len(sink.ids) != 0 || len(sink.sections) != 0 {
		t.Errorf("DBAA: fail %+v sections %b optOut %b ids %v; want a valid string with no section",
			res.fail, res.sections, res.optOut, sink.ids)
	}
	for _, tt := range []struct {
		in   string
		want Reason
	}{
		{"DBAA~", ReasonBadHeader},                  // a part after an empty list
		{"DBAA~BVVqAAEABCA.QA", ReasonBadHeader},    // likewise
		{"DBAA~~", ReasonBadHeader},                 // likewise
		{"DBABLA~BVVqAAEABCA.QA~", ReasonBadHeader}, // one listed, two parts
		{"DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN~", ReasonBadHeader},
		{"DBA", ReasonTruncated}, // no room for the count
	} {
		res, _ := explainGPP(tt.in)
		if res.fail.reason != tt.want {
			t.Errorf("%q: reason %v (%q), want %v", tt.in, res.fail.reason, res.fail.what, tt.want)
		}
	}

	// Through the Reader "DBAA" is no signal: no opt-out, no source, no
	// error, in either region mode; Explain lists no section.
	r := newTestReader(t, Options{})
	for _, tt := range []struct {
		lines   string
		denied  rules.Categories
		sources Source
	}{
		{cookie("__gpp=DBAA"), 0, 0},
		{cookie("__gpp=DBAA", "__gpp_sid=-1"), 0, 0},
		{"CF-IPCountry: DE\r\n" + cookie("__gpp=DBAA"), rules.AllButNecessary, Region},
	} {
		for pass := 0; pass < 2; pass++ {
			h := header(t, tt.lines)
			c := r.Read(PolicyOf(testSite()), h)
			if c.OptedOut || c.Denied != tt.denied || c.Sources != tt.sources || c.Errors != 0 {
				t.Errorf("%q pass %d: opted_out=%v denied=%v sources=%v errors=%v; want no GPP signal",
					tt.lines, pass, c.OptedOut, c.Denied, c.Sources.Names(), c.Errors.Names())
			}
			e := r.Explain(PolicyOf(testSite()), h)
			if g := e.Signals.GPP; g == nil || len(g.SectionIDs) != 0 || len(e.Errors) != 0 {
				t.Errorf("%q: Explain gpp %+v errors %v", tt.lines, g, e.Errors)
			}
			r.cache.c.Wait()
		}
	}
}
