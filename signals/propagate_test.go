package signals

import (
	"strings"
	"testing"
)

// Vectors from the IAB reference encoder, IABTechLab/iabgpp-es at
// fd0546e7b28e7e186bc27aac6375e6c10a80e47e:
// modules/cmpapi/test/encoder/section/HeaderV1.test.ts lines 5, 11, 17
// and modules/cmpapi/test/GppModel.test.ts lines 125, 136, 183 (headers);
// modules/cmpapi/test/encoder/section/UsNat.test.ts lines 6, 11, 63
// (usnat v2 sections).

func TestGPPHeaderEncoderMatchesIAB(t *testing.T) {
	ids := func(l ...int) uint64 {
		var s uint64
		for _, id := range l {
			s |= 1 << id
		}
		return s
	}
	all := []int{2}
	for id := 5; id <= 27; id++ {
		all = append(all, id)
	}
	tests := []struct {
		set  uint64
		want string
	}{
		{0, "DBAA"},
		{ids(2), "DBABMA"},
		{ids(2, 6), "DBACNYA"},
		{ids(7), "DBABLA"},
		{ids(6), "DBABTA"},
		{ids(all...), "DBACOcGA"}, // 2, then the group 5-27
	}
	for _, tt := range tests {
		if got := gppHeaderFor(tt.set); got != tt.want {
			t.Errorf("gppHeaderFor(%b) = %q, want %q", tt.set, got, tt.want)
		}
		// And this package's decoder reads the ids back.
		if tt.set != 0 {
			res := parseGPP([]byte(tt.want+strings.Repeat("~1YNN", popcount(tt.set))), nil)
			if res.sections != tt.set {
				t.Errorf("parseGPP(%q) sections %b, want %b", tt.want, res.sections, tt.set)
			}
		}
	}
}

func popcount(v uint64) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// encodeUSNatV2 encodes a usnat v2 section with the bit writer the
// propagation uses: Version 2, then 32 two-bit values in table order (6
// notices, 3 opt-outs, 16 sensitive data, 3 known child, personal data, 3
// MSPA), then the GPC sub-section.
func encodeUSNatV2(t *testing.T, vals []int, gpc bool) string {
	t.Helper()
	if len(vals) != 32 {
		t.Fatalf("%d values, want 32", len(vals))
	}
	var w bitWriter
	w.put(2, 6)
	for _, v := range vals {
		w.put(uint64(v), 2)
	}
	core := w.base64()
	w = bitWriter{}
	w.put(1, 2)
	if gpc {
		w.put(1, 1)
	} else {
		w.put(0, 1)
	}
	return core + "." + w.base64()
}

func TestUSNatEncoderMatchesIAB(t *testing.T) {
	rep := func(v, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	cat := func(parts ...[]int) []int {
		var out []int
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name string
		vals []int
		gpc  bool
		want string
	}{
		{"default", cat(rep(0, 9), rep(0, 16), rep(0, 3), []int{0, 1, 0, 0}), false, "CAAAAAAAAABA.QA"},
		{"every field set", cat(rep(1, 9), []int{2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2}, []int{2, 1, 0}, []int{1, 1, 1, 2}), true, "CVVVkkkkkpFY.YA"},
		{"v2 with v2 values", cat(rep(0, 9), rep(1, 16), rep(1, 3), []int{0, 1, 0, 0}), false, "CAAAVVVVVVRA.QA"},
	}
	for _, tt := range tests {
		if got := encodeUSNatV2(t, tt.vals, tt.gpc); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestPropagatedGPP decodes the strings the proxy writes with this
// package's own decoder: a usnat v2 section, the three opt-outs 1, the GPC
// sub-section as given, and values that pass the IAB validation rules.
func TestPropagatedGPP(t *testing.T) {
	r := newTestReader(t, Options{})
	for _, tt := range []struct {
		s   string
		gpc bool
	}{{GPPOptOut, false}, {GPPOptOutGPC, true}} {
		if !strings.HasPrefix(tt.s, "DBABLA~") {
			t.Errorf("%q: header is not DBABLA (usnat alone)", tt.s)
		}
		e := r.Explain(PolicyOf(testSite()), header(t, "Cookie: __gpp="+tt.s+"; __gpp_sid="+GPPSIDOptOut+"\r\n"))
		if len(e.Errors) > 0 || !e.OptedOut || strings.Join(e.Sources, ",") != "gpp" {
			t.Fatalf("%q: %+v", tt.s, e)
		}
		f, _ := e.Signals.GPP.Sections["usnat"].(map[string]any)
		if f == nil {
			t.Fatalf("%q: no usnat section in %v", tt.s, e.Signals.GPP.Sections)
		}
		want := map[string]any{
			"Version": 2, "SharingNotice": 1, "SaleOptOutNotice": 1, "SharingOptOutNotice": 1,
			"TargetedAdvertisingOptOutNotice": 1, "SensitiveDataProcessingOptOutNotice": 0,
			"SensitiveDataLimitUseNotice": 0, "SaleOptOut": 1, "SharingOptOut": 1,
			"TargetedAdvertisingOptOut": 1, "PersonalDataConsents": 0,
			"MspaCoveredTransaction": 2, "MspaOptOutOptionMode": 1, "MspaServiceProviderMode": 2,
			"Gpc": tt.gpc,
		}
		for k, v := range want {
			if f[k] != v {
				t.Errorf("%q: %s = %v, want %v", tt.s, k, f[k], v)
			}
		}
		if p := usnatProblem(f); p != "" {
			t.Errorf("%q fails the IAB usnat validation: %s", tt.s, p)
		}
	}
}

// usnatProblem applies the IAB encoders' usnat validation (iabgpp-java
// ace7fa7a UsNatCoreSegment.java:115-241; iabgpp-rs usnat.rs
// UsNat::validate) to decoded fields.
func usnatProblem(f map[string]any) string {
	n := func(k string) int { v, _ := f[k].(int); return v }
	pair := func(notice, optOut string) bool {
		no, oo := n(notice), n(optOut)
		return no == 0 && oo == 0 || no == 1 && oo != 0 || no == 2 && oo == 1
	}
	switch {
	case !pair("SharingNotice", "SharingOptOut"):
		return "sharing notice / opt out"
	case !pair("SharingOptOutNotice", "SharingOptOut"):
		return "sharing opt out notice / opt out"
	case !pair("SaleOptOutNotice", "SaleOptOut"):
		return "sale notice / opt out"
	case !pair("TargetedAdvertisingOptOutNotice", "TargetedAdvertisingOptOut"):
		return "targeted advertising notice / opt out"
	case n("MspaCoveredTransaction") == 0:
		return "MspaCoveredTransaction 0"
	}
	switch n("MspaServiceProviderMode") {
	case 0, 1:
		if n("SaleOptOutNotice") != 0 || n("SharingOptOutNotice") != 0 || n("SensitiveDataLimitUseNotice") != 0 {
			return "service provider mode with notices"
		}
		if n("MspaServiceProviderMode") == 1 && n("MspaOptOutOptionMode") != 2 {
			return "service provider / opt out option modes"
		}
	case 2:
		if n("MspaOptOutOptionMode") != 1 {
			return "service provider / opt out option modes"
		}
	}
	return ""
}

func TestPropagateUSP(t *testing.T) {
	tests := []struct {
		have, want string
		write      bool
	}{
		{"", "1YYN", true},
		{"1YNN", "1YYN", true},
		{"1NNY", "1YYY", true}, // the LSPA character is the publisher's: kept
		{"1---", "1YY-", true},
		{"1YYN", "1YYN", false},
		{"1NYY", "1NYY", false}, // opts out already: never touched
		{"1-Y-", "1-Y-", false},
		{"1y--", "1YYN", true}, // malformed (an opt-out at the edge): replaced
		{"2YYN", "1YYN", true},
		{"garbage", "1YYN", true},
	}
	for _, tt := range tests {
		var have []byte
		if tt.have != "" {
			have = []byte(tt.have)
		}
		got, write := PropagateUSP(have)
		if got != tt.want || write != tt.write {
			t.Errorf("PropagateUSP(%q) = %q, %v; want %q, %v", tt.have, got, write, tt.want, tt.write)
		}
		if u, err := ParseUSP([]byte(got)); err != nil || u.OptOutSale != 'Y' {
			t.Errorf("PropagateUSP(%q) = %q does not opt out: %v", tt.have, got, err)
		}
	}
}

func TestPropagateGPP(t *testing.T) {
	ours := strings.TrimPrefix(GPPOptOut, "DBABLA~")
	oursGPC := strings.TrimPrefix(GPPOptOutGPC, "DBABLA~")
	tcf := "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
	usnatNo := "BVVqAAEABCA.QA"   // usnat v1, SharingOptOut 2: no opt-out of sale (fixture of gpp_test)
	usnatAll := "BVVVkkkkkpFY.YA" // every opt-out 1, GPC true
	tests := []struct {
		name             string
		have, sid        string
		gpc              bool
		want, wantSID    string
		write            bool
		keepsSectionsOf  string // the result must hold every section of this string
		wantSectionsList []int
	}{
		{name: "none", want: GPPOptOut, wantSID: "7", write: true},
		{name: "none, gpc", gpc: true, want: GPPOptOutGPC, wantSID: "7", write: true},
		{name: "malformed", have: "DBABLA~notbase64!", want: GPPOptOut, wantSID: "7", write: true},
		{name: "header only", have: "DBAA", want: GPPOptOut, wantSID: "7", write: true},
		{name: "ours already", have: GPPOptOut, sid: "7", want: GPPOptOut, wantSID: "7"},
		{name: "ours without gpc, visitor sends gpc", have: GPPOptOut, sid: "7", gpc: true, want: GPPOptOutGPC, wantSID: "7", write: true},
		{name: "ours with gpc, no gpc now", have: GPPOptOutGPC, sid: "7", want: GPPOptOutGPC, wantSID: "7"},
		{name: "a CMP's usnat that opts out of everything", have: "DBABLA~" + usnatAll, sid: "7", gpc: true, want: "DBABLA~" + usnatAll, wantSID: "7"},
		{name: "a CMP's usnat that opts out, sid elsewhere", have: "DBABLA~" + usnatAll, sid: "8", want: "DBABLA~" + ours, wantSID: "7", write: true},
		{name: "a CMP's usnat without opt-out", have: "DBABLA~" + usnatNo, sid: "7", want: "DBABLA~" + ours, wantSID: "7", write: true},
		{name: "tcf and usp kept", have: "DBACNYA~" + tcf + "~1YNN", sid: "2,6", gpc: true,
			want: gppHeaderFor(1<<2|1<<6|1<<7) + "~" + tcf + "~1YNN~" + oursGPC, wantSID: "2,7", write: true},
		{name: "tcf, no sid", have: "DBABMA~" + tcf, want: gppHeaderFor(1<<2|1<<7) + "~" + tcf + "~" + ours, wantSID: "2,7", write: true},
		{name: "bare tc string", have: tcf, want: gppHeaderFor(1<<2|1<<7) + "~" + tcf + "~" + ours, wantSID: "2,7", write: true},
	}
	r := newTestReader(t, Options{})
	for _, tt := range tests {
		var have, sid []byte
		if tt.have != "" {
			have = []byte(tt.have)
		}
		if tt.sid != "" {
			sid = []byte(tt.sid)
		}
		got, gotSID, write := PropagateGPP(have, sid, tt.gpc)
		if got != tt.want || gotSID != tt.wantSID || write != tt.write {
			t.Errorf("%s: PropagateGPP(%q, %q, %v) =\n\t%q, %q, %v\nwant\n\t%q, %q, %v", tt.name, tt.have, tt.sid, tt.gpc,
				got, gotSID, write, tt.want, tt.wantSID, tt.write)
			continue
		}
		// Whatever it writes, the edge reads as a GPP opt-out, without error.
		c := r.Read(PolicyOf(testSite()), header(t, "Cookie: __gpp="+got+"; __gpp_sid="+gotSID+"\r\n"))
		if c.Errors != 0 || c.Sources&GPP == 0 || !c.DoNotSell {
			t.Errorf("%s: %q, sid %q reads as %+v", tt.name, got, gotSID, c)
		}
	}
}

func TestDoNotSell(t *testing.T) {
	r := newTestReader(t, Options{})
	tests := []struct {
		lines string
		want  bool
	}{
		{"Sec-GPC: 1\r\n", true},
		{"Cookie: usprivacy=1YYN\r\n", true},
		{"Cookie: usprivacy=1y--\r\n", true}, // fails: an opt-out
		{"Cookie: cmplz_marketing=deny\r\n", false},
		{"Cookie: cmplz_marketing=allow\r\n", false},
		{"", false},
		{"CF-IPCountry: DE\r\n", false},
	}
	for _, tt := range tests {
		if c := r.Read(PolicyOf(testSite()), header(t, tt.lines)); c.DoNotSell != tt.want {
			t.Errorf("%q: DoNotSell = %v, want %v (%+v)", tt.lines, c.DoNotSell, tt.want, c)
		}
	}
}

func TestIsPropagated(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        bool
	}{
		{"usprivacy", USPOptOut, true}, {"usprivacy", "1YYY", false},
		{"__gpp", GPPOptOut, true}, {"__gpp", GPPOptOutGPC, true}, {"__gpp", "DBABLA~BVVqAAEABCA.QA", false},
		{"__gpp_sid", "7", true}, {"__gpp_sid", "2,7", false}, {"other", "7", false},
	} {
		if got := IsPropagated(tt.name, []byte(tt.value)); got != tt.want {
			t.Errorf("IsPropagated(%q, %q) = %v", tt.name, tt.value, got)
		}
	}
}
