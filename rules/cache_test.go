package rules

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// oneSlot replaces s's front tables with one slot each, so that every
// lookup collides in the front table and the shared cache and the tables
// must answer.
func oneSlot(s *Set) {
	s.siteFront = newFront[Site](1)
	s.hostFront = newFront[Vendor](1)
}

// TestLookupCacheAnswersLikeTables checks every cached lookup against the
// tables: hosts in every case, with and without a site, with a site that
// allows a vendor, repeatedly (front-table hits), through a front table of
// one slot (every lookup evicts the last) and with the shared cache filled.
func TestLookupCacheAnswersLikeTables(t *testing.T) {
	const cfg = `
upstream: http://127.0.0.1:8080
sites:
  - name: a
    hosts: [a.example]
    allow_vendors: [hotjar]
  - name: b
    hosts: ["*.b.example"]
    first_party: [static.hotjar.com]
  - name: any
    hosts: ["*"]
`
	hosts := []string{
		"static.hotjar.com", "STATIC.HOTJAR.COM", "www.google-analytics.com", "connect.facebook.net:443",
		"cdn.jsdelivr.net", "a.example", "x.b.example", "B.example", "other.example.", "", ".", "doubleclick.net",
	}
	for _, tc := range []struct {
		name  string
		setup func(*Set)
	}{
		{"front table", func(*Set) {}},
		{"one front slot", oneSlot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := compileYAML(t, cfg)
			tc.setup(s)
			sites := []*Site{nil}
			for _, h := range hosts {
				sites = append(sites, s.lookupSite([]byte(h)))
			}
			for round := range 3 {
				for _, h := range hosts {
					if got, want := s.Site([]byte(h)), s.lookupSite([]byte(h)); got != want {
						t.Errorf("round %d: Site(%q) = %v, want %v", round, h, siteName(got), siteName(want))
					}
					for _, site := range sites {
						if got, want := s.Classify(site, []byte(h)), s.classify(site, []byte(h)); got != want {
							t.Errorf("round %d: Classify(%s, %q) = %s, want %s", round, siteName(site), h, idOf(got), idOf(want))
						}
					}
				}
				waitCaches() // later rounds may answer from the shared cache
			}
		})
	}
}

func siteName(s *Site) string {
	if s == nil {
		return "<nil>"
	}
	return s.Name
}

// TestLookupCacheIsPerSet: two sets compiled from different configs share
// the process-wide cache but never each other's answers.
func TestLookupCacheIsPerSet(t *testing.T) {
	compile := func(allow string) *Set {
		return compileYAML(t, fmt.Sprintf("upstream: http://127.0.0.1:8080\nsites:\n  - name: a\n    hosts: [\"*\"]\n    allow_vendors: [%s]\n", allow))
	}
	allowing, denying := compile("hotjar"), compile("meta-pixel")
	host := []byte("static.hotjar.com")
	for range 3 {
		if v := allowing.Classify(allowing.Site(host), host); v != nil {
			t.Fatalf("set allowing hotjar: %s", v.ID)
		}
		if v := denying.Classify(denying.Site(host), host); idOf(v) != "hotjar" {
			t.Fatalf("set not allowing hotjar: %s", idOf(v))
		}
		waitCaches()
	}
}

// TestLookupCacheRefillsWithoutAllocating: when two hosts share a front
// slot, the one evicted comes back from the shared cache without
// allocating.
func TestLookupCacheRefillsWithoutAllocating(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := testSet(t)
	oneSlot(s)
	site := s.Site([]byte("shop.example"))
	a, b := []byte("www.google-analytics.com"), []byte("cdn.shop.example")
	s.Classify(site, a)
	s.Classify(site, b)
	waitCaches()
	_, _, hits0, misses0 := CacheMetrics()
	n := testing.AllocsPerRun(100, func() {
		if idOf(s.Classify(site, a)) != "google-analytics" || s.Classify(site, b) != nil {
			t.Fatal("wrong answer")
		}
	})
	// Two entries in a cache bounded at thousands: ristretto admits both
	// (waitCaches made them visible), so every refill is a shared-cache hit.
	_, _, hits1, misses1 := CacheMetrics()
	if misses1 != misses0 {
		t.Errorf("misses %d → %d: refills were answered by the tables, not the shared cache", misses0, misses1)
	}
	if n != 0 {
		t.Errorf("%v allocs per refill from the shared cache, want 0", n)
	}
	if hits1 <= hits0 {
		t.Errorf("hits %d → %d: refills from the shared cache are not counted", hits0, hits1)
	}
}

// TestFrontHitsNeverAllocate counts the allocations of many consecutive
// front-table hits as one total, so an allocation amortised over several
// lookups (ristretto's access buffer allocates a stripe per batch of 64
// Gets it hands on) is not rounded away as AllocsPerRun per lookup would.
func TestFrontHitsNeverAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := testSet(t)
	site := s.Site([]byte("shop.example"))
	hosts := [][]byte{[]byte("www.google-analytics.com"), []byte("cdn.shop.example"), []byte("WWW.Shop.Example:443")}
	for _, h := range hosts {
		s.Site(h)
		s.Classify(site, h)
	}
	// AllocsPerRun counts the whole process: let ristretto apply the
	// warm-up's Sets (its goroutine allocates doing so) and the collector
	// finish with the tests before, or their work counts here.
	waitCaches()
	runtime.GC()
	n := testing.AllocsPerRun(1, func() {
		for range 10000 {
			for _, h := range hosts {
				sinkSite = s.Site(h)
				sinkVendor = s.Classify(site, h)
			}
		}
	})
	if n != 0 {
		t.Errorf("%v allocations in 60 000 cached lookups, want 0", n)
	}
}

// TestCacheMetricsCount: a first lookup is a miss, the next ones hits
// (front-table hits are sampled, so their count is checked within a range
// that sampling misses by more than ten standard deviations only once in
// far more runs than this test will see), also from many goroutines.
func TestCacheMetricsCount(t *testing.T) {
	s := testSet(t)
	host := []byte("unique-host-for-metrics.example")
	_, sm0, _, hm0 := CacheMetrics()
	site := s.Site(host)
	s.Classify(site, host)
	sh1, sm1, hh1, hm1 := CacheMetrics()
	if sm1-sm0 != 1 || hm1-hm0 != 1 {
		t.Errorf("first lookups: site misses +%d, host misses +%d; want 1 each", sm1-sm0, hm1-hm0)
	}
	const goroutines, each = 8, 8000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				s.Classify(s.Site(host), host)
			}
		})
	}
	wg.Wait()
	sh2, sm2, hh2, hm2 := CacheMetrics()
	// One in 64 hits is counted as 64: for n hits the standard deviation
	// is about 8·√n (2 024 for 64 000).
	const n = goroutines * each
	for _, c := range []struct {
		name         string
		hits, misses uint64
	}{{"site", sh2 - sh1, sm2 - sm1}, {"host", hh2 - hh1, hm2 - hm1}} {
		if c.misses != 0 || c.hits < n/2 || c.hits > n*3/2 {
			t.Errorf("%d repeated %s lookups: +%d hits, +%d misses; want about %d hits and no miss", n, c.name, c.hits, c.misses, n)
		}
	}
}

// TestCloseCaches: the shared caches' goroutines end with CloseCaches, so
// a goroutine-leak check need not ignore them; lookups after it still
// answer (new caches start), and the answers never depended on them.
func TestCloseCaches(t *testing.T) {
	CloseCaches()
	before := goleak.IgnoreCurrent()
	s := testSet(t)
	site := s.Site([]byte("shop.example"))
	if v := s.Classify(site, []byte("www.google-analytics.com")); v == nil || v.ID != "google-analytics" {
		t.Fatalf("Classify = %v, want google-analytics", v)
	}
	if goleak.Find(before) == nil {
		t.Fatal("a lookup started no cache goroutine: the check below would pass vacuously")
	}
	CloseCaches()
	if err := goleak.Find(before); err != nil {
		t.Errorf("goroutines left after CloseCaches: %v", err)
	}
	// Another host, another front slot: a miss, through new caches.
	if v := s.Classify(site, []byte("connect.facebook.net")); v == nil || v.ID != "meta-pixel" {
		t.Errorf("after CloseCaches: Classify = %v, want meta-pixel", v)
	}
	if got := s.Site([]byte("shop.example")); got != site {
		t.Errorf("after CloseCaches: Site = %v, want %v", got, site)
	}
	CloseCaches()
}
