package signals

import (
	"reflect"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// The optional segments of a TC string are validated, not only typed.
//
// Layouts: InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework
// 10b489eae0d5328e07241001520d984e15afb59a, "TCFv2/IAB Tech Lab - Consent
// string and vendor list formats v2.md" lines 1025-1168 (DisclosedVendors:
// SegmentType 3, MaxVendorId 16, IsRangeEncoding 1, then a BitField of
// MaxVendorId bits or NumEntries 12 and RangeEntries) and 1170-1290
// (PublisherTC: SegmentType 3, PubPurposesConsent 24,
// PubPurposesLITransparency 24, NumCustomPurposes 6, CustomPurposesConsent
// and CustomPurposesLITransparency NumCustomPurposes bits each);
// AllowedVendors (type 2, TCF v2.0) is laid out as DisclosedVendors.
//
// A bit field shorter than MaxVendorId is an error in the IAB decoder:
// InteractiveAdvertisingBureau/iabtcf-es 839b9557bfb9852ab9187a65747fce8e305b90b3
// modules/core/src/encoder/field/VendorVectorEncoder.ts lines 184-187 pass
// the MaxVendorId bits to FixedVectorEncoder.decode, which throws
// "bitfield encoding length mismatch" (FixedVectorEncoder.ts lines 23-25).
//
// Valid vectors: IABTechLab/iabgpp-es fd0546e7b28e7e186bc27aac6375e6c10a80e47e
// modules/cmpapi/test/encoder/section/TcfEuV2.test.ts lines 36-52 ("decode
// with vendor [11, 28, 29] and publisher TC"), 346-411 ("decode":
// VendorsAllowed and VendorsDisclosed, 434 ids each, 1, 2, 4, … 791) and
// 592-679 ("decode 4").

const (
	tcfDecodeAllowed = "CPcqBNJPcqBNJNwAAAENAwCAAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA.QGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g.IGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g"
	tcfDecode4       = "COv_eg6Ov_eg6AOADBENAaCgAP_AAH_AACiQAVEUQQoAIQAqIoghAAQgAA.YAAAAAAAAAAAAAAAAAA.IGLtV_T9fb2vj-_Z99_tkeYwf95y3p-wzhheMs-8NyZeH_B4Wv2MyvBX4JiQKGRgksjLBAQdtHGlcTQgBwIlViTLMYk2MjzNKJrJEilsbO2dYGD9Pn8HT3ZCY70-vv__7v3ff_3g"
	tcfPublisherTC   = "CPTtLAAPTtLAAAAAAAENAAFgALwAAEAAAAAAAOgAgABgAAAA.IAoAAgABgAAEAQAAEAAA.d4AACEAAAAAA"
	// tcfAllPurposes grants purposes 1-10 (iabgpp-es TcfEuV2.test.ts "decode 2").
	tcfAllPurposes = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
)

// vendorSegment encodes an optional vendor segment (DisclosedVendors 1,
// AllowedVendors 2) as a bit field of nbits bits, every one set.
func vendorSegment(typ, maxID, nbits int) string {
	f := [][2]int{{3, typ}, {16, maxID}, {1, 0}}
	for ; nbits > 0; nbits -= 16 {
		n := min(nbits, 16)
		f = append(f, [2]int{n, 1<<uint(n) - 1})
	}
	return encodeFields(f...)
}

// rangeSegment encodes a vendor segment with range encoding; each entry is
// {start} or {start, end}.
func rangeSegment(typ, maxID int, entries ...[]int) string {
	f := [][2]int{{3, typ}, {16, maxID}, {1, 1}, {12, len(entries)}}
	for _, e := range entries {
		if len(e) == 1 {
			f = append(f, [2]int{1, 0}, [2]int{16, e[0]})
		} else {
			f = append(f, [2]int{1, 1}, [2]int{16, e[0]}, [2]int{16, e[1]})
		}
	}
	return encodeFields(f...)
}

func TestTCFSegmentsReference(t *testing.T) {
	res, out := explainTCF(tcfPublisherTC)
	if !res.fail.ok() {
		t.Fatalf("publisher TC vector: %+v", res.fail)
	}
	for k, want := range map[string]any{
		"disclosed_vendors":          []int{11, 28, 29, 50, 60, 80},
		"publisher_purposes_consent": []int{1, 3, 4, 5, 6},
		"publisher_purposes_li":      []int{2, 7},
		"num_custom_purposes":        0,
	} {
		if got := out[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("publisher TC vector: %s = %v, want %v", k, got, want)
		}
	}
	for _, tt := range []struct {
		name, in string
		allowed  bool
	}{{"decode", tcfDecodeAllowed, true}, {"decode 4", tcfDecode4, false}} {
		res, out := explainTCF(tt.in)
		if !res.fail.ok() {
			t.Fatalf("%s: %+v", tt.name, res.fail)
		}
		keys := []string{"disclosed_vendors"}
		if tt.allowed {
			keys = append(keys, "allowed_vendors")
		}
		for _, k := range keys {
			ids, _ := out[k].([]int)
			if len(ids) != 434 || !reflect.DeepEqual(ids[:10], []int{1, 2, 4, 6, 8, 10, 11, 12, 13, 14}) ||
				!reflect.DeepEqual(ids[425:], []int{782, 783, 784, 785, 786, 788, 789, 790, 791}) {
				t.Errorf("%s: %s has %d ids (%v…)", tt.name, k, len(ids), ids[:min(len(ids), 10)])
			}
		}
	}
}

func TestTCFSegmentsMalformed(t *testing.T) {
	core := "CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA"
	pub := func(n, bits int) string { // PublisherTC with n custom purposes and bits of them
		f := [][2]int{{3, 3}, {24, 0}, {24, 0}, {6, n}}
		for ; bits > 0; bits -= 16 {
			f = append(f, [2]int{min(bits, 16), 0})
		}
		return encodeFields(f...)
	}
	tests := []struct {
		name string
		seg  string
		want Reason
	}{
		{"disclosed whole", vendorSegment(1, 100, 100), ReasonNone},
		{"disclosed bit field short", vendorSegment(1, 100, 60), ReasonTruncated},
		{"disclosed no bit field", vendorSegment(1, 791, 0), ReasonTruncated},
		{"disclosed no MaxVendorId", encodeFields([2]int{3, 1}, [2]int{3, 0}), ReasonTruncated},
		{"allowed bit field short", vendorSegment(2, 100, 60), ReasonTruncated},
		{"disclosed ranges", rangeSegment(1, 80, []int{11}, []int{28, 29}, []int{80}), ReasonNone},
		{"disclosed range id 0", rangeSegment(1, 80, []int{0}), ReasonBadRange},
		{"disclosed range end before start", rangeSegment(1, 80, []int{30, 29}), ReasonBadRange},
		{"disclosed range above MaxVendorId", rangeSegment(1, 80, []int{28, 81}), ReasonBadRange},
		{"disclosed ranges cut", rangeSegment(1, 80, []int{11}, []int{28, 29})[:8], ReasonTruncated},
		{"allowed range above MaxVendorId", rangeSegment(2, 10, []int{11}), ReasonBadRange},
		{"publisher TC whole", pub(0, 0), ReasonNone},
		{"publisher TC with custom purposes", pub(5, 10), ReasonNone},
		{"publisher TC short", encodeFields([2]int{3, 3}, [2]int{24, 0}, [2]int{20, 0}), ReasonTruncated},
		{"publisher TC custom purposes short", pub(20, 30), ReasonTruncated},
		{"type 4", encodeFields([2]int{3, 4}, [2]int{21, 0}), ReasonBadValue},
	}
	for _, tt := range tests {
		s := core + "." + tt.seg
		res, _ := explainTCF(s)
		if res.fail.reason != tt.want {
			t.Errorf("%s %q: reason %v (%q), want %v", tt.name, s, res.fail.reason, res.fail.what, tt.want)
		}
		if r := parseTCF([]byte(s), nil); r.fail != res.fail || r.present != res.present {
			t.Errorf("%s: Read and Explain differ: %+v / %+v", tt.name, r.fail, res.fail)
		}
	}
}

// TestTCFTruncatedDisclosedFailsClosed: a core that grants every purpose,
// in an opt-in region, with a truncated DisclosedVendors segment, must not
// grant anything: an opt-out with a reason, as euconsent-v2 and as the
// tcfeuv2 section of a GPP string.
func TestTCFTruncatedDisclosedFailsClosed(t *testing.T) {
	bad := tcfAllPurposes + "." + vendorSegment(1, 791, 300)
	good := tcfAllPurposes + "." + vendorSegment(1, 791, 791)
	r := newTestReader(t, Options{})
	for _, tt := range []struct {
		name, cookie string
		src          Source
		fail         bool
	}{
		{"euconsent-v2 whole", "euconsent-v2=" + good, TCF, false},
		{"euconsent-v2 truncated", "euconsent-v2=" + bad, TCF, true},
		{"gpp tcfeuv2 whole", "__gpp=DBABMA~" + good, GPP, false},
		{"gpp tcfeuv2 truncated", "__gpp=DBABMA~" + bad, GPP, true},
		{"gpp bare TC string truncated", "__gpp=" + bad, GPP, true},
	} {
		for pass := 0; pass < 2; pass++ {
			c := r.Read(PolicyOf(testSite()), header(t, "CF-IPCountry: DE\r\n"+cookie(tt.cookie)))
			if !tt.fail {
				if c.OptedOut || c.Denied != 0 || c.Errors != 0 {
					t.Errorf("%s pass %d: opted_out=%v denied=%v errors=%v; want every category granted",
						tt.name, pass, c.OptedOut, c.Denied, c.Errors.Names())
				}
				continue
			}
			if !c.OptedOut || c.Denied != rules.AllButNecessary || c.Errors != tt.src || c.Reason(tt.src) != ReasonTruncated {
				t.Errorf("%s pass %d: opted_out=%v denied=%v errors=%v reason=%v; want an opt-out, truncated",
					tt.name, pass, c.OptedOut, c.Denied, c.Errors.Names(), c.Reason(tt.src))
			}
			r.cache.c.Wait()
		}
	}
}
