package signals

import (
	"reflect"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// tcfcav1 vectors. Sources (test strings and expected values only):
// IABTechLab/iabgpp-es modules/cmpapi/test/encoder/section/TcfCaV1.test.ts,
// IABTechLab/iabgpp-java iabgpp-encoder/src/test/java/com/iab/gpp/encoder/
// section/TcfCaV1Test.java and noirotm/iabgpp-rs
// iab_gpp/src/sections/tcfcav1.rs ("basic", "with_publisher_purposes",
// "full_str", the last a string from a live CMP).
const (
	// iabgpp-es / iabgpp-java "encode 1": defaults, created 2022-01-01.
	tcfcaDefault = "BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA"
	// iabgpp-es / iabgpp-java "encode 2": express and implied consents differ.
	tcfcaMixed = "BPSG_8APSG_8AAyACAENGdCgf_gfgAfgfgBgABABAAABAB4AACACAAA.fHHHA4444ao"
	// iabgpp-java "decode 3": a disclosed vendors segment.
	tcfcaDisclosed = "BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAA.YAAAAAAAAAA.IAGO5w"
	// iabgpp-java "encode 4": one publisher restriction.
	tcfcaPubRestr = "BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAACCgAS7o.YAAAAAAAAAA"
	// iabgpp-rs "basic": a TCF CA v1.0 string without PubRestrictions.
	tcfcaBasic = "BPXuQIAPXuQIAAfKABENB-CgAAAAAAAAAAAAAAAA"
	// iabgpp-rs "full_str": express and implied purposes 1-9, 66 vendors.
	tcfcaFull = "BQMC4oAQMC4oAPoABABGB0CYAf8AAf8AAAqdA-AAUABwAFQALQAaABLACgAF0ANoAdwA_QCCAIQARQAnwBWgC3AGUANMAc4A7gCAQElASYAnYBPwDFAGaAM6AZ8A14B_AEngJyAT-Ao8BUQCpQFvALhAXQAvcBf4DBwGYANNAbUA3EBxoDxAHmgPkAgIBCQCNwEpYJgAmCBNUCa4E5gJ-AUmApYBU4FToHwACgAOAAqABaADQAJYAUAAugBtADuAH6AQQBCACKAE-AK0AW4AygBpgDnAHcAQCAkoCTAE7AJ-AYoAzQBnQDPgGvAP4Ak8BOQCfwFHgKiAVKAt4BcIC6AF7gL_AYOAzABpoDagG4gONAeIA80B8gEBAISARuAlLBMAEwQJqgTXAnMBPwCkwFLAKnAAAA.YAAAAAAAAAA"
)

// Bit offsets in the tcfcav1 core segment.
const (
	tcfcaPurposesExpressBit = 151
	tcfcaPurposesImpliedBit = 175
	tcfcaVendorsBit         = 199
)

func explainTCFCA(s string) (tcfResult, map[string]any) {
	sink := &tcfSink{}
	res := parseTCFCA([]byte(s), sink)
	return res, sink.out
}

// setBits returns the base64url string s with bits from pos on replaced by
// bits ("0" and "1"); it grows s with 'A' when needed.
func setBits(s string, pos int, bits string) string {
	b := []byte(s)
	for len(b)*6 < pos+len(bits) {
		b = append(b, 'A')
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i, c := range bits {
		p := pos + i
		v := strings.IndexByte(alpha, b[p/6])
		mask := 1 << uint(5-p%6)
		if c == '1' {
			v |= mask
		} else {
			v &^= mask
		}
		b[p/6] = alpha[v]
	}
	return string(b)
}

func TestTCFCAReferenceVectors(t *testing.T) {
	full66 := []int{10, 28, 42, 45, 52, 75, 80, 93, 109, 119, 126, 130, 131, 132, 138, 159, 173,
		183, 202, 211, 231, 238, 256, 293, 294, 315, 319, 394, 410, 413, 415, 431, 508,
		591, 626, 639, 655, 674, 677, 734, 737, 744, 759, 767, 775, 816, 845, 874, 881,
		909, 964, 973, 996, 1028, 1060, 1134, 1189, 1216, 1217, 1237, 1239, 1254, 1276,
		1318, 1324, 1358}
	day2022 := uint64(1640995200 * 10) // 2022-01-01T00:00:00Z in deciseconds
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{
		{"es/java default", tcfcaDefault, map[string]any{
			"Version": 1, "Created": day2022, "LastUpdated": day2022, "CmpId": 0, "CmpVersion": 0,
			"ConsentScreen": 0, "ConsentLanguage": "EN", "VendorListVersion": 0, "UseNonStandardStacks": false,
			"SpecialFeatureExpressConsent": []int{}, "PurposesExpressConsent": []int{}, "PurposesImpliedConsent": []int{},
			"VendorExpressConsent": []int{}, "VendorImpliedConsent": []int{}, "PubRestrictions": []map[string]any{},
			"PubPurposesExpressConsent": []int{}, "PubPurposesImpliedConsent": []int{}, "NumCustomPurposes": 0,
			"CustomPurposesExpressConsent": []int{}, "CustomPurposesImpliedConsent": []int{},
		}},
		{"es/java encode 2", tcfcaMixed, map[string]any{
			"Version": 1, "Created": day2022, "LastUpdated": day2022, "CmpId": 50, "CmpVersion": 2,
			"VendorListVersion": 413, "UseNonStandardStacks": true, "ConsentLanguage": "EN",
			"SpecialFeatureExpressConsent": []int{7, 8, 9, 10, 11, 12},
			"PurposesExpressConsent":       []int{1, 2, 3, 4, 5, 6, 13, 14, 15, 16, 17, 18},
			"PurposesImpliedConsent":       []int{7, 8, 9, 10, 11, 12, 19, 20, 21, 22, 23, 24},
			"VendorExpressConsent":         []int{12, 24, 48},
			"VendorImpliedConsent":         []int{18, 30},
			"PubPurposesExpressConsent":    []int{1, 2, 3, 7, 8, 9, 13, 14, 15, 19, 20, 21},
			"PubPurposesImpliedConsent":    []int{4, 5, 6, 10, 11, 12, 16, 17, 18, 22, 23, 24},
			"NumCustomPurposes":            3,
			"CustomPurposesExpressConsent": []int{2},
			"CustomPurposesImpliedConsent": []int{1, 3},
		}},
		{"java disclosed vendors", tcfcaDisclosed, map[string]any{
			"DisclosedVendors": []int{1, 2, 3, 5, 6, 7, 10, 11, 12},
		}},
		// iabgpp-es encodes the same segment with more padding.
		{"es disclosed vendors", "BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA.IAGO5wAA", map[string]any{
			"DisclosedVendors": []int{1, 2, 3, 5, 6, 7, 10, 11, 12},
		}},
		{"java publisher restriction", tcfcaPubRestr, map[string]any{
			"PubRestrictions": []map[string]any{{"PurposeId": 1, "RestrictionType": 1, "Vendors": []int{1, 2, 3, 5, 6, 7, 9}}},
		}},
		{"rs basic", tcfcaBasic, map[string]any{
			"Created": uint64(16504128000), "LastUpdated": uint64(16504128000), "CmpId": 31, "CmpVersion": 640,
			"ConsentScreen": 1, "ConsentLanguage": "EN", "VendorListVersion": 126, "TcfPolicyVersion": 2,
			"UseNonStandardStacks": true, "PurposesExpressConsent": []int{}, "VendorExpressConsent": []int{},
			"PubRestrictions": []map[string]any{},
		}},
		{"rs with publisher purposes", tcfcaBasic + ".YAAAAAAAAAA", map[string]any{
			"CmpId": 31, "PubPurposesExpressConsent": []int{}, "NumCustomPurposes": 0,
		}},
		{"rs full_str", tcfcaFull, map[string]any{
			"Created": uint64(17381952000), "CmpId": 1000, "CmpVersion": 1, "ConsentScreen": 0,
			"ConsentLanguage": "BG", "VendorListVersion": 116, "TcfPolicyVersion": 2, "UseNonStandardStacks": false,
			"SpecialFeatureExpressConsent": []int{1, 2},
			"PurposesExpressConsent":       []int{1, 2, 3, 4, 5, 6, 7, 8, 9},
			"PurposesImpliedConsent":       []int{1, 2, 3, 4, 5, 6, 7, 8, 9},
			"VendorExpressConsent":         full66, "VendorImpliedConsent": full66,
			"PubRestrictions": []map[string]any{},
		}},
	}
	for _, tt := range tests {
		res, out := explainTCFCA(tt.in)
		if !res.fail.ok() || !res.present {
			t.Errorf("%s: failure %+v", tt.name, res.fail)
			continue
		}
		for k, want := range tt.want {
			if got := out[k]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s = %#v, want %#v", tt.name, k, got, want)
			}
		}
		// Read and Explain parse alike.
		if r := parseTCFCA([]byte(tt.in), nil); r.fail != res.fail || r.purposes != res.purposes ||
			!reflect.DeepEqual(r.vendors, res.vendors) {
			t.Errorf("%s: Read parse differs from Explain parse", tt.name)
		}
	}
	// The iabgpp-es test vector for a publisher restriction writes the
	// vendor ids as a bare int range (the iabgpp-java one, above, as
	// MaxVendorId, IsRangeEncoding and a bit field): the specification and
	// encoders disagree; restrictions decide nothing here, and the string
	// parses with purpose 1, type 1.
	res, out := explainTCFCA("BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAACCgBwABAAOAAoADgAJA.YAAAAAAAAAA")
	if !res.fail.ok() {
		t.Fatalf("es publisher restriction: %+v", res.fail)
	}
	if pr := out["PubRestrictions"].([]map[string]any); len(pr) != 1 || pr[0]["PurposeId"] != 1 || pr[0]["RestrictionType"] != 1 {
		t.Errorf("es publisher restriction: %v", pr)
	}
}

// The decision reads express consent only: implied consent is TCF Canada's
// legitimate interest.
func TestTCFCAExpressNotImplied(t *testing.T) {
	res, _ := explainTCFCA(tcfcaMixed)
	g, d := categoriesFromPurposes(res.purposes)
	if g != rules.Of(rules.Functional, rules.Advertising, rules.Social) || d != rules.Of(rules.Analytics) {
		t.Errorf("express 1-6, implied 7-12: granted %v denied %v", g, d)
	}
	// Full: express 1-9 grants every category.
	res, _ = explainTCFCA(tcfcaFull)
	if g, d := categoriesFromPurposes(res.purposes); g != rules.AllButNecessary || d != 0 {
		t.Errorf("full: granted %v denied %v", g, d)
	}
	// The same string with no express consent, implied 1-9 unchanged:
	// nothing is granted.
	impliedOnly := setBits(tcfcaFull, tcfcaPurposesExpressBit, strings.Repeat("0", 24))
	res, out := explainTCFCA(impliedOnly)
	if !res.fail.ok() || len(out["PurposesImpliedConsent"].([]int)) != 9 {
		t.Fatalf("implied only: %+v %v", res.fail, out["PurposesImpliedConsent"])
	}
	if g, d := categoriesFromPurposes(res.purposes); g != 0 || d != rules.AllButNecessary {
		t.Errorf("implied only: granted %v denied %v", g, d)
	}
	// Express consent with implied consent cleared still grants.
	expressOnly := setBits(tcfcaFull, tcfcaPurposesImpliedBit, strings.Repeat("0", 24))
	res, _ = explainTCFCA(expressOnly)
	if g, _ := categoriesFromPurposes(res.purposes); g != rules.AllButNecessary {
		t.Errorf("express only: granted %v", g)
	}
}

func TestTCFCAMalformed(t *testing.T) {
	// PubRestrictions with one entry of type 3.
	type3 := setBits(tcfcaPubRestr, tcfcaVendorsBit+34+12+6, "11")
	// MaxVendorId 65535 as a bit field with nothing behind it.
	absurd := setBits(tcfcaBasic[:34], tcfcaVendorsBit, "1111111111111111"+"0")
	// A vendor range whose end is before its start.
	badRange := setBits(tcfcaBasic, tcfcaVendorsBit, "0000000000001010"+"1"+"000000000001"+"1"+
		"0000000000000101"+"0000000000000011"+strings.Repeat("0", 17+12))
	tests := []struct {
		name string
		in   string
		want Reason
	}{
		{"empty", "", ReasonEmpty},
		{"version 2 (iabgpp-es TcfCaV2-era vector)", "CPSG_8APSG_8AAyACAENGdCgf_gfgAfgfgBgABABAAABAB4AACAC.fHHHA4444ao", ReasonBadVersion},
		{"version 2 default", "CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAA.YAAAAAAAAAA", ReasonBadVersion},
		{"version 0", "A" + tcfcaBasic[1:], ReasonBadVersion},
		{"truncated core", tcfcaMixed[:20], ReasonTruncated},
		{"truncated in purposes", tcfcaMixed[:30], ReasonTruncated},
		{"truncated in vendors", tcfcaFull[:60], ReasonTruncated},
		{"bad base64", "BPSG_8APSG*8AAyACAENGdCgf_gfgAfgfgBgABABAAABAB4AACACAAA", ReasonBadBase64},
		{"bad base64 in segment", tcfcaBasic + ".Y!", ReasonBadBase64},
		{"empty segment", tcfcaBasic + ".", ReasonEmpty},
		{"segment type 2", tcfcaBasic + ".QAAA", ReasonBadValue},
		{"segment type 0", tcfcaBasic + ".AAAA", ReasonBadValue},
		{"publisher purposes too short", tcfcaBasic + ".YA", ReasonTruncated},
		{"disclosed vendors too short", tcfcaBasic + ".IA", ReasonTruncated},
		{"publisher restriction type 3", type3, ReasonBadValue},
		{"absurd MaxVendorId", absurd, ReasonTruncated},
		{"vendor range end before start", badRange, ReasonBadRange},
		{"too long", "B" + strings.Repeat("A", MaxSignalLen), ReasonTooLong},
	}
	for _, tt := range tests {
		res, out := explainTCFCA(tt.in)
		if res.fail.reason != tt.want || res.present || out != nil {
			t.Errorf("%s: reason %v (%s) present %v, want %v", tt.name, res.fail.reason, res.fail.what, res.present, tt.want)
		}
		if res.fail.what == "" {
			t.Errorf("%s: failure without description", tt.name)
		}
	}
}

// Through GPP: section 5, alone and with others.
func TestGPPTCFCASection(t *testing.T) {
	res, sink := explainGPP(gppHeader(5) + "~" + tcfcaMixed)
	if !res.fail.ok() || !res.tcfca.present || res.optOut != 0 || res.sections != 1<<sidTCFCAv1 {
		t.Fatalf("tcfcav1: %+v", res)
	}
	ca, ok := sink.sections["tcfcav1"].(map[string]any)
	if !ok || ca["CmpId"] != 50 || !reflect.DeepEqual(ca["VendorExpressConsent"], []int{12, 24, 48}) {
		t.Errorf("tcfcav1 explain = %v", sink.sections["tcfcav1"])
	}
	// The example in doc.go.
	if res, _ := explainGPP("DBABDA~" + tcfcaBasic); !res.fail.ok() || !res.tcfca.present {
		t.Errorf("doc.go example: %+v", res.fail)
	}
	// Canadian TCF and US Privacy, the specification's header example 3.
	res, sink = explainGPP("DBABjw~" + tcfcaBasic + "~1YNN")
	if !res.fail.ok() || !reflect.DeepEqual(sink.ids, []int{5, 6}) || sink.sections["uspv1"] == nil || !res.tcfca.present {
		t.Errorf("DBABjw: %+v ids %v", res.fail, sink.ids)
	}
	// A failure names the section.
	for _, tt := range []struct {
		section string
		want    Reason
	}{
		{"CPSG_8APSG_8AAyACAENGdCgf_gfgAfgfgBgABABAAABAB4AACAC.fHHHA4444ao", ReasonBadVersion},
		{tcfcaMixed[:30], ReasonTruncated},
		{"BPSG_8APSG*8AAyACAENGdCgf", ReasonBadBase64},
		{tcfcaBasic + ".QAAA", ReasonBadValue},
	} {
		res, _ := explainGPP(gppHeader(5) + "~" + tt.section)
		if res.fail.reason != tt.want || res.fail.section != sidTCFCAv1 || res.tcfca.present {
			t.Errorf("%.30q: fail %+v, want %v in section 5", tt.section, res.fail, tt.want)
		}
	}
}

// The public read path: a GPP string carrying tcfcav1 decides like one
// carrying tcfeuv2 (see TestDecisions).
func TestTCFCADecisions(t *testing.T) {
	const tcfAll = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
	ca := gppHeader(5) + "~"
	impliedOnly := setBits(tcfcaFull, tcfcaPurposesExpressBit, strings.Repeat("0", 24))
	all := rules.AllButNecessary
	analytics := rules.Of(rules.Analytics)
	tests := []struct {
		name     string
		lines    string
		optedOut bool
		denied   rules.Categories
		sources  Source
		errors   Source
		reason   Reason
	}{
		{"opt-in region, tcfcav1 grants all", "CF-IPCountry: DE\r\n" + cookie("__gpp="+ca+tcfcaFull), false, 0, Region | GPP, 0, 0},
		{"opt-in region, tcfcav1 with sid 5", "CF-IPCountry: DE\r\n" + cookie("__gpp="+ca+tcfcaFull, "__gpp_sid=5"), false, 0, Region | GPP, 0, 0},
		{"opt-in region, tcfcav1 not applicable", "CF-IPCountry: DE\r\n" + cookie("__gpp="+ca+tcfcaFull, "__gpp_sid=7"), false, all, Region, 0, 0},
		{"opt-out region, tcfcav1 all", cookie("__gpp=" + ca + tcfcaFull), false, 0, 0, 0, 0},
		{"opt-out region, express 1-6 implied 7-12 denies analytics", cookie("__gpp=" + ca + tcfcaMixed), true, analytics, GPP, 0, 0},
		{"opt-in region, express 1-6 implied 7-12", "CF-IPCountry: FR\r\n" + cookie("__gpp="+ca+tcfcaMixed), true, analytics, Region | GPP, 0, 0},
		{"implied consent only grants nothing", "CF-IPCountry: DE\r\n" + cookie("__gpp="+ca+impliedOnly), true, all, Region | GPP, 0, 0},
		{"implied consent only, opt-out region denies", cookie("__gpp=" + ca + impliedOnly), true, all, GPP, 0, 0},
		{"defaults deny", cookie("__gpp=" + ca + tcfcaDefault), true, all, GPP, 0, 0},
		{"tcfeuv2 grants, tcfcav1 denies analytics", "CF-IPCountry: DE\r\n" + cookie("__gpp="+gppHeader(2, 5)+"~"+tcfAll+"~"+tcfcaMixed), true, analytics, Region | GPP, 0, 0},
		{"tcfcav1 and uspv1 opt-out", "CF-IPCountry: DE\r\n" + cookie("__gpp=DBABjw~"+tcfcaFull+"~1YYN"), true, rules.DefaultDeny, Region | GPP, 0, 0},
		{"GPC wins over tcfcav1", "CF-IPCountry: DE\r\nSec-GPC: 1\r\n" + cookie("__gpp="+ca+tcfcaFull), true, rules.DefaultDeny, Region | GPP | GPC, 0, 0},
		{"wrong version", "CF-IPCountry: DE\r\n" + cookie("__gpp="+ca+"CPSG_8APSG_8AAyACAENGdCgf_gfgAfgfgBgABABAAABAB4AACAC.fHHHA4444ao"), true, all, Region | GPP, GPP, ReasonBadVersion},
		{"truncated", cookie("__gpp=" + ca + tcfcaFull[:60]), true, rules.DefaultDeny, GPP, GPP, ReasonTruncated},
		{"bad base64", cookie("__gpp=" + ca + "BPSG_8APSG*8AAyACAENGdCgf"), true, rules.DefaultDeny, GPP, GPP, ReasonBadBase64},
		{"bad segment type", cookie("__gpp=" + ca + tcfcaBasic + ".QAAA"), true, rules.DefaultDeny, GPP, GPP, ReasonBadValue},
	}
	r := newTestReader(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readTwice(t, r, tt.lines, decided{tt.optedOut, tt.denied, tt.sources, tt.errors}, func(c Consent, e *Explanation) {
				if c.Reason(GPP) != tt.reason {
					t.Errorf("reason %v, want %v", c.Reason(GPP), tt.reason)
				}
				if tt.errors != 0 && (len(e.Errors) == 0 || !strings.HasSuffix(e.Errors[0], " in section 5")) {
					t.Errorf("Explain errors %q, want one in section 5", e.Errors)
				}
			})
		})
	}
	// Explain shows the decoded section by its API prefix.
	e := r.Explain(PolicyOf(testSite()), header(t, cookie("__gpp="+ca+tcfcaMixed)))
	sec, _ := e.Signals.GPP.Sections["tcfcav1"].(map[string]any)
	if sec == nil || sec["CmpId"] != 50 || !reflect.DeepEqual(sec["PurposesImpliedConsent"], []int{7, 8, 9, 10, 11, 12, 19, 20, 21, 22, 23, 24}) {
		t.Errorf("explain tcfcav1 = %v", e.Signals.GPP.Sections)
	}
	e = r.Explain(PolicyOf(testSite()), header(t, cookie("__gpp="+ca+"CPSG_8APSG_8AAyACAENGdCgf")))
	if want := "gpp: tcfcav1 version is not 1 in section 5"; len(e.Errors) != 1 || e.Errors[0] != want {
		t.Errorf("explain errors %q, want %q", e.Errors, want)
	}
}

// The site's TCFVendors are checked against VendorExpressConsent, as
// against a TC string's vendor consents; implied consent does not count.
func TestTCFCAVendors(t *testing.T) {
	r := newTestReader(t, Options{})
	site := testSite()
	// 12 has express consent, 18 implied only, 13 neither.
	site.TCFVendors = []int{12, 18, 13}
	// Express purposes 1-9 so that only the vendors decide advertising.
	s := setBits(tcfcaMixed, tcfcaPurposesExpressBit, "111111111"+strings.Repeat("0", 15))
	c := r.Read(PolicyOf(site), header(t, "CF-IPCountry: DE\r\n"+cookie("__gpp="+gppHeader(5)+"~"+s)))
	if c.TCFVendorsDenied != 0b110 {
		t.Errorf("TCFVendorsDenied = %b, want 110", c.TCFVendorsDenied)
	}
	if c.Denied != rules.Of(rules.Advertising) {
		t.Errorf("denied %v, want advertising", c.Denied)
	}
}
