package signals

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
)

const (
	benchOrdinary = "Cookie: _ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; " +
		"session=abcdef0123456789; theme=dark; lang=en-US; cart=3; ab=variant-b; consent_seen=1; " +
		"tz=Europe%2FBerlin; last=2026-11-25\r\n"
	benchUSNat = "DBABLA~BVVqAAEABCA.YA"
	benchTCF   = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
)

func benchHeader(b testing.TB, lines string) *fasthttp.RequestHeader {
	h := header(b, lines)
	return h
}

// benchRead measures r.Read(p, h), failing with msg when fails says
// the Consent read is wrong.
func benchRead(b *testing.B, r *Reader, p *Policy, h *fasthttp.RequestHeader, fails func(Consent) bool, msg string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if fails(r.Read(p, h)) {
			b.Fatal(msg)
		}
	}
}

// warm fills the cache with the request's strings and waits for ristretto's
// buffered Set to land.
func warm(r *Reader, h *fasthttp.RequestHeader) {
	for i := 0; i < 3; i++ {
		r.Read(PolicyOf(testSite()), h)
		r.cache.c.Wait()
	}
}

func BenchmarkReadGPCTenCookies(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, "Sec-GPC: 1\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n"+benchOrdinary)
	p := PolicyOf(testSite())
	r.Read(p, h) // fasthttp parses cookies lazily, once
	benchRead(b, r, p, h, func(c Consent) bool { return !c.OptedOut }, "not opted out")
}

func BenchmarkReadCachedGPP(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, "Cookie: __gpp="+benchUSNat+"; __gpp_sid=7\r\n")
	warm(r, h)
	p := PolicyOf(testSite())
	benchRead(b, r, p, h, func(c Consent) bool { return c.Sources&GPP == 0 }, "gpp not read")
}

func BenchmarkReadCachedTCF(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, "CF-IPCountry: DE\r\nCookie: euconsent-v2="+benchTCF+"\r\n")
	warm(r, h)
	p := PolicyOf(testSite())
	benchRead(b, r, p, h, func(c Consent) bool { return c.Sources&TCF == 0 }, "tcf not read")
}

// BenchmarkReadMirror is a Read on a site with the consent mirror whose
// visitor carries its cookie among ten others.
func BenchmarkReadMirror(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, strings.TrimSuffix(benchOrdinary, "\r\n")+"; consentgate_mirror=1.1.ds.tu\r\n")
	p := PolicyOf(mirrorSite())
	r.Read(p, h)
	benchRead(b, r, p, h, func(c Consent) bool { return c.Sources&Mirror == 0 }, "mirror not read")
}

// BenchmarkParseGPPUSNat is the uncached cost of a usnat string.
func BenchmarkParseGPPUSNat(b *testing.B) {
	s := []byte(benchUSNat)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if res := parseGPP(s, nil); res.optOut == 0 {
			b.Fatal("not opted out")
		}
	}
}

// BenchmarkReadUncachedGPP is a full Read whose __gpp misses the cache
// every time (a cache too small to admit it).
func BenchmarkReadUncachedGPP(b *testing.B) {
	r := newTestReader(b, Options{CacheMaxCost: 1})
	h := benchHeader(b, "Cookie: __gpp="+benchUSNat+"\r\n")
	p := PolicyOf(testSite())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Read(p, h)
	}
}

func BenchmarkParseTCF(b *testing.B) {
	s := []byte(benchTCF)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		parseTCF(s, nil)
	}
}

// benchStateLaw is a usca section that opts out of sale and a ustx section
// that does not, with a false GPC sub-section (TestBenchStateLaw).
const benchStateLaw = "__gpp=DBACBgw~BQYAAAAA~BEoAAAA.QA"

func TestBenchStateLaw(t *testing.T) {
	want := "__gpp=" + gppHeader(8, 16) +
		"~" + encodeUS(t, 8, map[string]int{"SaleOptOutNotice": 1, "SaleOptOut": 1, "SharingOptOut": 2}, "") +
		"~" + encodeUS(t, 16, map[string]int{"SaleOptOutNotice": 1, "SaleOptOut": 2, "TargetedAdvertisingOptOut": 2}, "N")
	if benchStateLaw != want {
		t.Errorf("benchStateLaw = %q, want %q", benchStateLaw, want)
	}
}

// stateLawSite judges a visitor by their state's law (X-Region: US-TX).
func stateLawSite() *rules.Site {
	s := testSite()
	s.StateHeader = "X-Region"
	return s
}

// BenchmarkReadCachedGPPStateLaw is BenchmarkReadCachedGPP with the
// visitor's state law governing (site.StateHeader): ustx decides.
func BenchmarkReadCachedGPPStateLaw(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, "X-Region: US-TX\r\nCookie: "+benchStateLaw+"; __gpp_sid=8,16\r\n")
	p := PolicyOf(stateLawSite())
	for i := 0; i < 3; i++ {
		r.Read(p, h)
		r.cache.c.Wait()
	}
	benchRead(b, r, p, h, func(c Consent) bool { return c.OptedOut }, "usca decided, not ustx")
}

func TestZeroAllocPaths(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	tests := []struct {
		name  string
		lines string
		site  *rules.Site // nil: testSite()
	}{
		{"gpc and ten cookies", "Sec-GPC: 1\r\n" + benchOrdinary, nil},
		{"nothing", "", nil},
		{"usp", "Cookie: usprivacy=1YYN\r\n", nil},
		{"opt-out cookie", "Cookie: consentgate_optout=1\r\n", nil},
		{"cached gpp", "Cookie: __gpp=" + benchUSNat + "; __gpp_sid=7\r\n", nil},
		{"cached tcf, opt-in region", "CF-IPCountry: DE\r\nCookie: euconsent-v2=" + benchTCF + "\r\n", nil},
		{"cached gpp tcfcav1, opt-in region", "CF-IPCountry: DE\r\nCookie: __gpp=" + gppHeader(5) + "~" + tcfcaFull + "; __gpp_sid=5\r\n", nil},
		{"cached onetrust", "Cookie: OptanonConsent=isGpcEnabled=0&groups=C0001%3A1%2CC0004%3A0\r\n", nil},
		{"cached gpp, state law governs", "X-Region: US-TX\r\nCookie: " + benchStateLaw + "\r\n", stateLawSite()},
		{"state law and gpc, no cookie", "Sec-GPC: 1\r\nCF-IPCountry: US\r\nX-Region: TX\r\n", stateLawSite()},
		{"cached gpp header only", "Cookie: __gpp=DBAA\r\n", nil},
		{"cached gpp usri", "Cookie: __gpp=DBABSYA~BVVV.kkk\r\n", nil},
		{"cached tcf with segments, opt-in region", "CF-IPCountry: DE\r\nCookie: euconsent-v2=" + tcfPublisherTC + "\r\n", nil},
		{"mirror", "Cookie: consentgate_mirror=1.1.ds.tu\r\n", mirrorSite()},
		{"mirror and gpc, ten cookies", "Sec-GPC: 1\r\n" + strings.TrimSuffix(benchOrdinary, "\r\n") + "; consentgate_mirror=1.0.a.i\r\n", mirrorSite()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := tt.site
			if site == nil {
				site = testSite()
			}
			p := PolicyOf(site)
			r := newTestReader(t, Options{})
			h := header(t, tt.lines)
			for i := 0; i < 3; i++ {
				r.Read(p, h)
				r.cache.c.Wait()
			}
			hits, _ := r.CacheMetrics()
			if n := testing.AllocsPerRun(100, func() { r.Read(p, h) }); n != 0 {
				t.Errorf("%v allocations per Read, want 0", n)
			}
			if h2, _ := r.CacheMetrics(); len(tt.lines) > 0 && h2 == hits && strings.HasPrefix(tt.name, "cached") {
				t.Errorf("no cache hit")
			}
		})
	}
}
