package signals

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
)

func newTestReader(t testing.TB, opts Options) *Reader {
	t.Helper()
	r, err := NewReaderWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func testSite() *rules.Site {
	return &rules.Site{
		Name: "test", OptOutCookie: rules.DefaultOptOutCookie, OptOutValue: "1",
		Deny: rules.DefaultDeny, CountryHeader: "CF-IPCountry",
		OptInCountries: map[string]bool{"DE": true, "FR": true, "GB": true},
		OneTrustGroups: map[string]rules.Category{
			"C0001": rules.Necessary, "C0002": rules.Analytics, "C0003": rules.Functional,
			"C0004": rules.Advertising, "C0005": rules.Social,
		},
	}
}

func TestSecGPCHeaderForms(t *testing.T) {
	r := newTestReader(t, Options{})
	tests := []struct {
		lines string
		want  bool
	}{
		{"Sec-GPC: 1\r\n", true},
		{"sec-gpc: 1\r\n", true},
		{"SEC-GPC: 1\r\n", true},
		{"Sec-GPC:1 \r\n", true},
		{"Sec-GPC:\t1\t\r\n", true},
		{"Sec-GPC: 0\r\nSec-GPC: 1\r\n", true}, // several: one 1 counts
		{"Sec-GPC: 0\r\n", false},
		{"Sec-GPC: 11\r\n", false},
		{"Sec-GPC: true\r\n", false},
		{"Sec-GPC: \r\n", false},
		{"Sec-GPCX: 1\r\n", false},
		{"", false},
	}
	for _, tt := range tests {
		for _, normalize := range []bool{true, false} {
			var h fasthttp.RequestHeader
			if !normalize {
				h.DisableNormalizing()
			}
			if err := h.Read(bufioReader("GET / HTTP/1.1\r\nHost: x\r\n" + tt.lines + "\r\n")); err != nil {
				t.Fatal(err)
			}
			c := r.Read(nil, &h)
			if c.OptedOut != tt.want || (c.Sources&GPC != 0) != tt.want {
				t.Errorf("%q (normalize %v): %+v, want opted out %v", tt.lines, normalize, c, tt.want)
			}
			if tt.want && c.Denied != rules.DefaultDeny {
				t.Errorf("%q: denied %v, want %v", tt.lines, c.Denied, rules.DefaultDeny)
			}
		}
	}
	// Built with Set/Add as a proxy would.
	var h fasthttp.RequestHeader
	h.Add("sec-gpc", "0")
	h.Add("SEC-GPC", "1")
	if c := r.Read(nil, &h); !c.OptedOut {
		t.Errorf("Add: not opted out")
	}
}

func TestDNTOnlyWhenSiteAsks(t *testing.T) {
	r := newTestReader(t, Options{})
	h := header(t, "DNT: 1\r\n")
	site := testSite()
	if c := r.Read(PolicyOf(site), h); c.OptedOut {
		t.Errorf("DNT counted while off: %+v", c)
	}
	site.DNT = true
	if c := r.Read(PolicyOf(site), h); !c.OptedOut || c.Sources != DNT {
		t.Errorf("DNT on: %+v", c)
	}
}

// cookie returns a Cookie header line.
func cookie(pairs ...string) string { return "Cookie: " + strings.Join(pairs, "; ") + "\r\n" }

func TestDecisions(t *testing.T) {
	const (
		usnatNoOpt  = "DBABLA~BVVqAAEABCA.QA"
		usnatGPC    = "DBABLA~BVVqAAEABCA.YA"
		tcfAll      = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
		tcfNone     = "CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA"
		onetrustMix = "isGpcEnabled=0&datestamp=Mon&version=202301.1.0&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A1%2CC0004%3A0%2CC0005%3A1"
	)
	all := rules.AllButNecessary
	tests := []struct {
		name      string
		lines     string
		optedOut  bool
		denied    rules.Categories
		sources   Source
		errors    Source
		reasonSrc Source
		reason    Reason
	}{
		{"nothing", "", false, 0, 0, 0, 0, 0},
		{"ten ordinary cookies", cookie("a=1", "b=2", "c=3", "d=4", "e=5", "f=6", "g=7", "h=8", "i=9", "j=10"), false, 0, 0, 0, 0, 0},
		{"opt-out cookie", cookie("consentgate_optout=1"), true, rules.DefaultDeny, OptOutCookie, 0, 0, 0},
		{"opt-out cookie other value", cookie("consentgate_optout=0"), false, 0, 0, 0, 0, 0},
		{"usp Y", cookie("usprivacy=1YYN"), true, rules.DefaultDeny, USP, 0, 0, 0},
		{"usp N", cookie("usprivacy=1YNN"), false, 0, 0, 0, 0, 0},
		{"us_privacy Y", cookie("us_privacy=1NYY"), true, rules.DefaultDeny, USP, 0, 0, 0},
		{"usp not applicable", cookie("usprivacy=1---"), false, 0, 0, 0, 0, 0},
		{"usp garbage", cookie("usprivacy=1YXN"), true, rules.DefaultDeny, USP, USP, USP, ReasonBadValue},
		{"usp long", cookie("usprivacy=1YNNN"), true, rules.DefaultDeny, USP, USP, USP, ReasonTooLong},
		{"usp duplicate", cookie("usprivacy=1YNN", "usprivacy=1NNN"), true, rules.DefaultDeny, USP, USP, USP, ReasonDuplicate},
		{"usp same twice", cookie("usprivacy=1YNN", "usprivacy=1YNN"), false, 0, 0, 0, 0, 0},
		{"gpp usnat no opt-out", cookie("__gpp=" + usnatNoOpt), false, 0, 0, 0, 0, 0},
		{"gpp usnat gpc", cookie("__gpp=" + usnatGPC), true, rules.DefaultDeny, GPP, 0, 0, 0},
		{"gpp with sid", cookie("__gpp="+usnatGPC, "__gpp_sid=7"), true, rules.DefaultDeny, GPP, 0, 0, 0},
		{"gpp bad sid", cookie("__gpp="+usnatNoOpt, "__gpp_sid=x"), true, rules.DefaultDeny, GPP, GPP, GPP, ReasonBadSID},
		{"gpp bad base64", cookie("__gpp=DBABLA~BVV*AAEABCA"), true, rules.DefaultDeny, GPP, GPP, GPP, ReasonBadBase64},
		{"gpp uspv1 Y", cookie("__gpp=DBABTA~1YYY"), true, rules.DefaultDeny, GPP, 0, 0, 0},
		{"gpp duplicate", cookie("__gpp="+usnatNoOpt, "__gpp="+usnatGPC), true, rules.DefaultDeny, GPP, GPP, GPP, ReasonDuplicate},
		{"gpp 64KiB", cookie("__gpp=D" + strings.Repeat("A", 64<<10)), true, rules.DefaultDeny, GPP, GPP, GPP, ReasonTooLong},
		{"tcf all purposes, opt-out region", cookie("euconsent-v2=" + tcfAll), false, 0, 0, 0, 0, 0},
		{"tcf none, opt-out region denies", cookie("euconsent-v2=" + tcfNone), true, all, TCF, 0, 0, 0},
		{"tcf truncated", cookie("euconsent-v2=" + tcfAll[:30]), true, rules.DefaultDeny, TCF, TCF, TCF, ReasonTruncated},
		{"opt-in region, nothing", "CF-IPCountry: DE\r\n", false, all, Region, 0, 0, 0},
		{"opt-in region lower case", "cf-ipcountry: de\r\n", false, all, Region, 0, 0, 0},
		{"opt-in region, tcf grants all", "CF-IPCountry: DE\r\n" + cookie("euconsent-v2="+tcfAll), false, 0, Region | TCF, 0, 0, 0},
		{"opt-in region, tcf in gpp grants", "CF-IPCountry: FR\r\n" + cookie("__gpp=DBABMA~"+tcfAll), false, 0, Region | GPP, 0, 0, 0},
		{"opt-in region, tcf in gpp not applicable", "CF-IPCountry: FR\r\n" + cookie("__gpp=DBABMA~"+tcfAll, "__gpp_sid=7"), false, all, Region, 0, 0, 0},
		{"opt-in region, tcf grants but GPC wins", "CF-IPCountry: DE\r\nSec-GPC: 1\r\n" + cookie("euconsent-v2="+tcfAll), true, rules.DefaultDeny, Region | TCF | GPC, 0, 0, 0},
		{"opt-out region country", "CF-IPCountry: US\r\n", false, 0, 0, 0, 0, 0},
		{"unknown country XX", "CF-IPCountry: XX\r\n", false, 0, 0, 0, 0, 0},
		{"onetrust targeting off", cookie("OptanonConsent=" + onetrustMix), true, rules.Of(rules.Advertising), CMP, 0, 0, 0},
		{"onetrust in opt-in region", "CF-IPCountry: GB\r\n" + cookie("OptanonConsent="+onetrustMix), true, rules.Of(rules.Advertising), Region | CMP, 0, 0, 0},
		{"onetrust gpc flag", cookie("OptanonConsent=isGpcEnabled=1&browserGpcFlag=1&groups=C0001%3A1"), true, rules.DefaultDeny, CMP, 0, 0, 0},
		{"onetrust garbage groups", cookie("OptanonConsent=groups=C0001%3Ayes"), true, rules.DefaultDeny, CMP, CMP, CMP, ReasonBadSyntax},
		{"cookiebot", cookie("CookieConsent={stamp:%27abc%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:false%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1}"), true, rules.Of(rules.Analytics, rules.Advertising, rules.Social), CMP, 0, 0, 0},
		{"cookiebot not required", cookie("CookieConsent=-1"), false, 0, 0, 0, 0, 0},
		{"cookiebot garbage", cookie("CookieConsent=%zz"), true, rules.DefaultDeny, CMP, CMP, CMP, ReasonBadSyntax},
		{"cookieyes", cookie("cookieyes-consent=consentid:abc,consent:yes,action:yes,necessary:yes,functional:yes,analytics:no,performance:no,advertisement:yes,other:no"), true, rules.Of(rules.Analytics), CMP, 0, 0, 0},
		{"complianz", cookie("cmplz_marketing=deny", "cmplz_statistics=allow"), true, rules.Of(rules.Advertising, rules.Social), CMP, 0, 0, 0},
		{"complianz bad", cookie("cmplz_marketing=maybe"), true, rules.DefaultDeny, CMP, CMP, CMP, ReasonBadValue},
		{"klaro all declined", cookie(`klaro=%7B%22ga%22%3Afalse%2C%22fb%22%3Afalse%7D`), true, all, CMP, 0, 0, 0},
		{"klaro all accepted, opt-in", "CF-IPCountry: DE\r\n" + cookie(`klaro=%7B%22ga%22%3Atrue%7D`), false, 0, Region | CMP, 0, 0, 0},
		{"didomi", cookie("didomi_token=" + didomiToken([]string{"cookies", "measure_content_performance", "measure_ad_performance", "market_research"}, []string{"select_basic_ads"})), true, rules.Of(rules.Functional, rules.Advertising, rules.Social), CMP, 0, 0, 0},
		{"didomi bad base64", cookie("didomi_token=***"), true, rules.DefaultDeny, CMP, CMP, CMP, ReasonBadBase64},
	}
	r := newTestReader(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readTwice(t, r, tt.lines, decided{tt.optedOut, tt.denied, tt.sources, tt.errors}, func(c Consent, e *Explanation) {
				if tt.reasonSrc != 0 && c.Reason(tt.reasonSrc) != tt.reason {
					t.Errorf("reason %v, want %v", c.Reason(tt.reasonSrc), tt.reason)
				}
				if tt.errors != 0 && len(e.Errors) == 0 {
					t.Errorf("Explain lists no error")
				}
			})
		})
	}
}

func didomiToken(enabled, disabled []string) string {
	b, _ := json.Marshal(map[string]any{
		"user_id":  "x",
		"purposes": map[string]any{"enabled": enabled, "disabled": disabled},
	})
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestTCFVendors(t *testing.T) {
	// "decode 2" has 772 vendor consents; vendor 1 is among them.
	const tcfAll = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
	res, _ := explainTCF(tcfAll)
	var consented, missing int
	for id := 1; id < 2000; id++ {
		if res.hasVendor(id) && consented == 0 {
			consented = id
		}
		if !res.hasVendor(id) && missing == 0 {
			missing = id
		}
	}
	r := newTestReader(t, Options{})
	site := testSite()
	site.TCFVendors = []int{consented, missing}
	c := r.Read(PolicyOf(site), header(t, "CF-IPCountry: DE\r\n"+cookie("euconsent-v2="+tcfAll)))
	if c.TCFVendorsDenied != 0b10 {
		t.Errorf("TCFVendorsDenied = %b, want 10 (vendor %d missing)", c.TCFVendorsDenied, missing)
	}
	if c.Denied != rules.Of(rules.Advertising) {
		t.Errorf("denied %v, want advertising", c.Denied)
	}
}

type fakeGeo map[netip.Addr]string

func (f fakeGeo) Country(a netip.Addr) ([2]byte, bool) {
	cc, ok := f[a]
	if !ok {
		return [2]byte{}, false
	}
	return [2]byte{cc[0], cc[1]}, true
}

func TestRegionGeoIP(t *testing.T) {
	de, us := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	r := newTestReader(t, Options{GeoIP: fakeGeo{de: "DE", us: "US"}})
	site := testSite()
	site.CountryHeader = ""
	site.GeoIPDatabase = "/nonexistent.mmdb"
	h := header(t, "")
	if c := r.ReadAddr(PolicyOf(site), h, de); c.Mode != ModeOptIn || c.Denied != rules.AllButNecessary || c.Sources != Region {
		t.Errorf("DE: %+v", c)
	}
	if c := r.ReadAddr(PolicyOf(site), h, us); c.Mode != ModeOptOut || c.Denied != 0 {
		t.Errorf("US: %+v", c)
	}
	// The IPv4-mapped form of a v4 address is the same address.
	if c := r.ReadAddr(PolicyOf(site), h, netip.AddrFrom16(de.As16())); c.Mode != ModeOptIn {
		t.Errorf("mapped DE: %+v", c)
	}
	e := r.ExplainAddr(PolicyOf(site), h, de)
	if e.Signals.Region == nil || e.Signals.Region.Country != "DE" || e.Signals.Region.Mode != "opt-in" {
		t.Errorf("explain region = %+v", e.Signals.Region)
	}
	// Without the fake, a missing database leaves the region unknown and
	// says why.
	r2 := newTestReader(t, Options{})
	if err := r2.OpenGeoIP(site.GeoIPDatabase); err == nil {
		t.Errorf("OpenGeoIP of a missing file succeeded")
	}
	if c := r2.ReadAddr(PolicyOf(site), h, de); c.Mode != ModeOptOut {
		t.Errorf("missing db: %+v", c)
	}
	if e := r2.ExplainAddr(PolicyOf(site), h, de); e.Signals.Region == nil || e.Signals.Region.Error == "" {
		t.Errorf("missing db: explain region %+v", e.Signals.Region)
	}
}

// TestCountryHeaderTrusted: from an untrusted peer the country header is
// believed only when it names an opt-in country; one naming an opt-out
// country is ignored and the region comes from GeoIP, or is unknown.
func TestCountryHeaderTrusted(t *testing.T) {
	de := netip.MustParseAddr("192.0.2.1")
	r := newTestReader(t, Options{GeoIP: fakeGeo{de: "DE"}})
	site := testSite()
	site.CountryHeader = "CF-IPCountry"
	site.GeoIPDatabase = "/nonexistent.mmdb"
	other := netip.MustParseAddr("198.51.100.9")
	for _, tc := range []struct {
		header  string
		from    Input
		want    Mode
		ignored bool
	}{
		{"US", Input{Addr: de, Trusted: true}, ModeOptOut, false},
		{"US", Input{Addr: de}, ModeOptIn, true},
		{"US", Input{Addr: other}, ModeOptOut, true},
		{"US", Input{}, ModeOptOut, true},
		{"DE", Input{Addr: other}, ModeOptIn, false},
		{"fr", Input{}, ModeOptIn, false},
		{"", Input{Addr: de}, ModeOptIn, false},
	} {
		lines := ""
		if tc.header != "" {
			lines = "CF-IPCountry: " + tc.header + "\r\n"
		}
		h := header(t, lines)
		if c := r.ReadInput(PolicyOf(site), h, tc.from); c.Mode != tc.want {
			t.Errorf("header %q from %+v: mode %v, want %v", tc.header, tc.from, c.Mode, tc.want)
		}
		e := r.ExplainInput(PolicyOf(site), h, tc.from)
		if e.Signals.Region == nil || e.Signals.Region.IgnoredHeader != tc.ignored {
			t.Errorf("header %q from %+v: explain region %+v, want ignored_header %v", tc.header, tc.from, e.Signals.Region, tc.ignored)
		}
	}
}

func TestExplainJSON(t *testing.T) {
	r := newTestReader(t, Options{})
	h := header(t, "Sec-GPC: 1\r\n"+cookie("usprivacy=1YNN", "__gpp=DBABLA~BVVqAAEABCA.YA", "__gpp_sid=7",
		"euconsent-v2=CPSG_8APSG_8AAAAAAENAACgAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAAA", "cmplz_marketing=deny"))
	e := r.Explain(PolicyOf(testSite()), h)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		OptedOut bool     `json:"opted_out"`
		Denied   []string `json:"denied"`
		Sources  []string `json:"sources"`
		Errors   []string `json:"errors"`
		Signals  struct {
			GPC bool `json:"gpc"`
			USP struct {
				String     string `json:"string"`
				OptOutSale string `json:"opt_out_sale"`
			} `json:"usp"`
			GPP struct {
				SectionIDs []int `json:"section_ids"`
				Sections   map[string]map[string]any
			} `json:"gpp"`
			TCF map[string]any `json:"tcf"`
			CMP map[string]any `json:"cmp"`
		} `json:"signals"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	s := got.Signals
	if !got.OptedOut || !s.GPC || s.USP.String != "1YNN" || s.USP.OptOutSale != "N" ||
		len(s.GPP.SectionIDs) != 1 || s.GPP.SectionIDs[0] != 7 || s.GPP.Sections["usnat"]["Gpc"] != true ||
		s.GPP.Sections["usnat"]["SaleOptOut"] != float64(2) || s.TCF["cmp_id"] != float64(0) || s.CMP["cmplz_marketing"] == nil {
		t.Errorf("explain JSON: %s", b)
	}
	if strings.Join(got.Denied, ",") != "advertising,analytics,functional,social" {
		t.Errorf("denied %v", got.Denied)
	}
}
