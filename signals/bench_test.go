package signals

import (
	"strings"
	"testing"

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

// warm fills the cache with the request's strings and waits for ristretto's
// buffered Set to land.
func warm(r *Reader, h *fasthttp.RequestHeader) {
	for i := 0; i < 3; i++ {
		r.Read(testSite(), h)
		r.cache.c.Wait()
	}
}

func BenchmarkReadGPCTenCookies(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, "Sec-GPC: 1\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n"+benchOrdinary)
	site := testSite()
	r.Read(site, h) // fasthttp parses cookies lazily, once
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if c := r.Read(site, h); !c.OptedOut {
			b.Fatal("not opted out")
		}
	}
}

func BenchmarkReadCachedGPP(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, "Cookie: __gpp="+benchUSNat+"; __gpp_sid=7\r\n")
	warm(r, h)
	site := testSite()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if c := r.Read(site, h); c.Sources&GPP == 0 {
			b.Fatal("gpp not read")
		}
	}
}

func BenchmarkReadCachedTCF(b *testing.B) {
	r := newTestReader(b, Options{})
	h := benchHeader(b, "CF-IPCountry: DE\r\nCookie: euconsent-v2="+benchTCF+"\r\n")
	warm(r, h)
	site := testSite()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if c := r.Read(site, h); c.Sources&TCF == 0 {
			b.Fatal("tcf not read")
		}
	}
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
	site := testSite()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Read(site, h)
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

func TestZeroAllocPaths(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	site := testSite()
	tests := []struct {
		name  string
		lines string
	}{
		{"gpc and ten cookies", "Sec-GPC: 1\r\n" + benchOrdinary},
		{"nothing", ""},
		{"usp", "Cookie: usprivacy=1YYN\r\n"},
		{"opt-out cookie", "Cookie: consentgate_optout=1\r\n"},
		{"cached gpp", "Cookie: __gpp=" + benchUSNat + "; __gpp_sid=7\r\n"},
		{"cached tcf, opt-in region", "CF-IPCountry: DE\r\nCookie: euconsent-v2=" + benchTCF + "\r\n"},
		{"cached gpp tcfcav1, opt-in region", "CF-IPCountry: DE\r\nCookie: __gpp=" + gppHeader(5) + "~" + tcfcaFull + "; __gpp_sid=5\r\n"},
		{"cached onetrust", "Cookie: OptanonConsent=isGpcEnabled=0&groups=C0001%3A1%2CC0004%3A0\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestReader(t, Options{})
			h := header(t, tt.lines)
			warm(r, h)
			hits, _ := r.CacheMetrics()
			if n := testing.AllocsPerRun(100, func() { r.Read(site, h) }); n != 0 {
				t.Errorf("%v allocations per Read, want 0", n)
			}
			if h2, _ := r.CacheMetrics(); len(tt.lines) > 0 && h2 == hits && strings.HasPrefix(tt.name, "cached") {
				t.Errorf("no cache hit")
			}
		})
	}
}
