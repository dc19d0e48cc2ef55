package rules

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/dgraph-io/ristretto/v2"
)

var sinkVendor *Vendor
var sinkSite *Site

func BenchmarkVendorForHost(b *testing.B) {
	s := testSet(b)
	for _, host := range []string{"www.google-analytics.com", "cdn.example.org", "a.b.c.d.e.f.example.co.uk"} {
		b.Run(host, func(b *testing.B) {
			h := []byte(host)
			b.ReportAllocs()
			for b.Loop() {
				sinkVendor = s.VendorForHost(h)
			}
		})
	}
}

// BenchmarkVendorForHostBaseline is the same-run baseline: a hit in the
// ristretto cache the Set used before the compiled suffix table.
func BenchmarkVendorForHostBaseline(b *testing.B) {
	s := testSet(b)
	c, err := ristretto.NewCache(&ristretto.Config[[]byte, *Vendor]{NumCounters: 1e6, MaxCost: 1e5, BufferItems: 64, Metrics: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	h := []byte("www.google-analytics.com")
	c.Set(h, s.VendorForHost(h), 1)
	c.Wait()
	b.ReportAllocs()
	for b.Loop() {
		sinkVendor, _ = c.Get(h)
	}
}

func BenchmarkClassifyURL(b *testing.B) {
	s := testSet(b)
	site := s.Site([]byte("shop.example"))
	u := []byte("https://www.googletagmanager.com/gtm.js?id=GTM-XXXX")
	b.ReportAllocs()
	for b.Loop() {
		sinkVendor = s.ClassifyURL(site, u)
	}
}

func BenchmarkSite(b *testing.B) {
	s := testSet(b)
	for _, host := range []string{"shop.example", "WWW.Shop.Example:8443", "unknown.example"} {
		b.Run(host, func(b *testing.B) {
			h := []byte(host)
			b.ReportAllocs()
			for b.Loop() {
				sinkSite = s.Site(h)
			}
		})
	}
}

func BenchmarkCookieVendor(b *testing.B) {
	s := testSet(b)
	for _, name := range []string{"_ga_ABC123", "_fbp", "PHPSESSID"} {
		b.Run(name, func(b *testing.B) {
			n := []byte(name)
			b.ReportAllocs()
			for b.Loop() {
				sinkVendor = s.CookieVendor(n)
			}
		})
	}
}

// abpList writes n distinct ||host^ rules.
func abpList(n int) string {
	var b strings.Builder
	b.WriteString("[Adblock Plus 2.0]\n! generated\n")
	for i := range n {
		fmt.Fprintf(&b, "||t%d.tracker%d.example^$third-party\n", i, i%997)
	}
	return b.String()
}

// BenchmarkCompile compiles the catalogue alone and with a 10 000-rule ABP
// import, and reports the live heap the compiled set holds.
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("abp-%d", n), func(b *testing.B) {
			dir := b.TempDir()
			cfgText := "upstream: http://127.0.0.1:8080\n"
			if n > 0 {
				writeFile(b, dir+"/list.txt", []byte(abpList(n)))
				cfgText += "imports:\n  - {format: abp, path: list.txt, licence: test}\n"
			}
			cfg, err := config.Parse([]byte(cfgText), dir+"/c.yaml")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var s *Set
			for b.Loop() {
				if s, err = Compile(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(setHeapBytes(b, cfg)), "heap-B/set")
			b.ReportMetric(float64(s.Signatures().MemSize()), "ac-B")
		})
	}
}

// setHeapBytes is the live heap growth from compiling one Set.
func setHeapBytes(tb testing.TB, cfg *config.Config) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := Compile(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

func TestCompileLargeABPImport(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	writeFile(t, dir+"/list.txt", []byte(abpList(10000)))
	cfg, err := config.Parse([]byte("upstream: http://127.0.0.1:8080\nimports:\n  - {format: abp, path: list.txt, id: big, licence: test}\n"), dir+"/c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// How long this takes is BenchmarkCompile's business; a unit test
	// asserts no timing.
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if idOf(s.VendorForHost([]byte("x.t9999.tracker29.example"))) != "big" {
		t.Error("imported host not classified")
	}
}

// TestZeroAllocs pins the hot paths at zero allocations.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := testSet(t)
	site := s.Site([]byte("shop.example"))
	text := []byte(gtmSnippet + fbSnippet)
	cases := map[string]func(){
		"VendorForHost hit":  func() { sinkVendor = s.VendorForHost([]byte("www.google-analytics.com")) },
		"VendorForHost miss": func() { sinkVendor = s.VendorForHost([]byte("cdn.example.org:443")) },
		"Classify":           func() { sinkVendor = s.Classify(site, []byte("Static.Hotjar.COM")) },
		"ClassifyURL":        func() { sinkVendor = s.ClassifyURL(site, []byte("//connect.facebook.net/en_US/fbevents.js")) },
		"Site":               func() { sinkSite = s.Site([]byte("WWW.shop.example:443")) },
		"Site catch-all":     func() { sinkSite = s.Site([]byte("other.example")) },
		"CookieVendor exact": func() { sinkVendor = s.CookieVendor([]byte("_fbp")) },
		"CookieVendor pfx":   func() { sinkVendor = s.CookieVendor([]byte("_ga_XYZ")) },
		"CookieVendor miss":  func() { sinkVendor = s.CookieVendor([]byte("PHPSESSID")) },
		"Signatures.Each":    func() { s.Signatures().Each(text, func(*Vendor) bool { return true }) },
	}
	for name, fn := range cases {
		fn() // fill the lookup caches: a miss may allocate
		waitCaches()
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, n)
		}
	}
}

// BenchmarkLookupCache compares, in one run, the three ways a request-path
// lookup can be answered: the set's front table (cached), the process-wide
// ristretto cache after the front slot was taken by another host (shared:
// each op alternates two hosts that share the one slot of a front table),
// and the compiled tables (tables).
func BenchmarkLookupCache(b *testing.B) {
	s := testSet(b)
	shared := testSet(b)
	oneSlot(shared)
	site := s.Site([]byte("shop.example"))
	sharedSite := shared.Site([]byte("shop.example"))
	other := []byte("other-host.example")
	for _, host := range []string{"www.google-analytics.com", "cdn.shop.example", "a.b.c.d.e.f.cdn.example.org"} {
		h := []byte(host)
		s.Classify(site, h)
		shared.Classify(sharedSite, h)
		shared.Classify(sharedSite, other)
		waitCaches()
		b.Run("Classify/cached/"+host, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkVendor = s.Classify(site, h)
			}
		})
		b.Run("Classify/cached-parallel/"+host, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var v *Vendor
				for pb.Next() {
					v = s.Classify(site, h)
				}
				sinkVendor = v
			})
		})
		b.Run("Classify/shared/"+host, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i&1 == 0 {
					sinkVendor = shared.Classify(sharedSite, h)
				} else {
					sinkVendor = shared.Classify(sharedSite, other)
				}
			}
		})
		b.Run("Classify/tables/"+host, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkVendor = s.classify(site, h)
			}
		})
	}
	h := []byte("WWW.Shop.Example:443")
	s.Site(h)
	waitCaches()
	b.Run("Site/cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkSite = s.Site(h)
		}
	})
	b.Run("Site/tables", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkSite = s.lookupSite(h)
		}
	})
}

// TestShortHosts: hosts of one or two bytes around a dot, as pages write
// them by mistake, classify as nothing and never panic.
func TestShortHosts(t *testing.T) {
	s := testSet(t)
	site := s.Site([]byte("shop.example"))
	for _, h := range []string{".0", "a.", ".", "..", "0", "a.b", ".a.", "x.y.", "&period;0"} {
		if v := s.Classify(site, []byte(h)); v != nil {
			t.Errorf("Classify(%q) = %s, want nothing", h, v.ID)
		}
		if v := s.ClassifyURL(site, []byte("//"+h+"/x")); v != nil {
			t.Errorf("ClassifyURL(%q) = %s, want nothing", h, v.ID)
		}
	}
}
