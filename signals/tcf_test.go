package signals

import (
	"reflect"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

func explainTCF(s string) (tcfResult, map[string]any) {
	sink := &tcfSink{}
	res := parseTCF([]byte(s), sink)
	return res, sink.out
}

// Vectors from IABTechLab/iabgpp-es test/encoder/section/TcfEuV2.test.ts
// ("decode defaults", "decode service specific", "decode", "decode 2").
func TestTCFReferenceVectors(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]any
	}{
		{"CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA.QAAA.IAAA", map[string]any{
			"version": 2, "cmp_id": uint64(0), "consent_language": "EN", "vendor_list_version": uint64(0),
			"policy_version": uint64(2), "is_service_specific": false, "purposes_consent": []int{},
			"special_features": []int{}, "publisher_cc": "AA", "vendor_consents": []int{},
		}},
		{"CPSG_8APSG_8AAAAAAENAACgAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAAA", map[string]any{
			"version": 2, "cmp_id": uint64(0), "is_service_specific": true, "publisher_cc": "AA",
		}},
		{"CPcqBNJPcqBNJNwAAAENAwCAAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA.QGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g.IGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g", map[string]any{
			"version": 2, "cmp_id": uint64(880), "cmp_version": uint64(0), "consent_screen": uint64(0),
			"consent_language": "EN", "vendor_list_version": uint64(48), "policy_version": uint64(2),
			"is_service_specific": false, "use_non_standard_texts": false, "purpose_one_treatment": false,
			"publisher_cc": "AA",
		}},
		{"CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA", map[string]any{
			"version": 2, "cmp_id": uint64(14), "cmp_version": uint64(2), "consent_screen": uint64(1),
			"consent_language": "EN", "vendor_list_version": uint64(174), "policy_version": uint64(2),
			"is_service_specific": true, "use_non_standard_texts": false,
			"special_features":      []int{1},
			"purposes_consent":      []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			"purposes_li":           []int{2, 6, 7, 8, 9, 10},
			"publisher_cc":          "US",
			"purpose_one_treatment": false,
		}},
	}
	for _, tt := range tests {
		res, out := explainTCF(tt.in)
		if !res.fail.ok() {
			t.Errorf("%.40q: failure %+v", tt.in, res.fail)
			continue
		}
		for k, want := range tt.want {
			if got := out[k]; !reflect.DeepEqual(got, want) {
				t.Errorf("%.40q: %s = %#v, want %#v", tt.in, k, got, want)
			}
		}
	}
	// "decode 2" also gives 772 vendor consents.
	res, out := explainTCF(tests[3].in)
	if n := len(out["vendor_consents"].([]int)); n != 772 {
		t.Errorf("decode 2: %d vendor consents, want 772", n)
	}
	g, d := categoriesFromPurposes(res.purposes)
	if g != rules.AllButNecessary || d != 0 {
		t.Errorf("purposes 1-10 grant %v deny %v, want all", g, d)
	}
}

func TestPurposeMapping(t *testing.T) {
	f := func(purposes []int, granted, denied rules.Categories) {
		t.Helper()
		var m uint32
		for _, p := range purposes {
			m |= 1 << uint(p-1)
		}
		g, d := categoriesFromPurposes(m)
		if g != granted || d != denied {
			t.Errorf("purposes %v: granted %v denied %v, want %v / %v", purposes, g, d, granted, denied)
		}
	}
	f(nil, 0, rules.AllButNecessary)
	f([]int{2, 3, 4, 5, 6, 7, 8, 9}, 0, rules.AllButNecessary) // no storage
	f([]int{1, 7, 8, 9}, rules.Of(rules.Analytics), rules.Of(rules.Functional, rules.Advertising, rules.Social))
	f([]int{1, 2, 3, 4}, rules.Of(rules.Advertising, rules.Social), rules.Of(rules.Functional, rules.Analytics))
}

func TestTCFMalformed(t *testing.T) {
	valid := "CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		in   string
		want Reason
	}{
		{"", ReasonEmpty},
		{"BAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA", ReasonBadVersion}, // v1
		{"DAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA", ReasonBadVersion}, // v3
		{valid[:20], ReasonTruncated},
		{valid[:38], ReasonTruncated},
		{"CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAA*AAAAAAAAAA", ReasonBadBase64},
		{valid + ".", ReasonEmpty},
		{valid + ".AAAA", ReasonBadValue}, // segment type 0
		{valid + ".!!", ReasonBadBase64},
		// MaxVendorId 65535 as a bit field with no bits behind it.
		{"CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA"[:34] + "__-AAAAA", ReasonTruncated},
		{"C" + strings.Repeat("A", MaxSignalLen), ReasonTooLong},
	}
	for _, tt := range tests {
		res, _ := explainTCF(tt.in)
		if res.fail.reason != tt.want {
			t.Errorf("%.50q: reason %v (%s), want %v", tt.in, res.fail.reason, res.fail.what, tt.want)
		}
	}
}

func TestSetRange(t *testing.T) {
	set := make([]uint64, 4)
	setRange(set, 3, 130)
	for id := 0; id < 256; id++ {
		want := id >= 3 && id <= 130
		if got := set[id/64]&(1<<uint(id%64)) != 0; got != want {
			t.Fatalf("bit %d = %v, want %v", id, got, want)
		}
	}
}
