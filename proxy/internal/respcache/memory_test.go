package respcache_test

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/consentgate/consentgate/proxy/internal/respcache"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// TestMemoryBound: the cache's memory stays within its bound under a run
// of 100 000 distinct pages (issue 17). Pages of 20 to 150 KB, sizes drawn
// uniformly, go through a cache of the default bound (64 MiB) as the proxy
// puts them; every 5 000 pages, after a GC, the heap the cache holds
// (HeapAlloc over what it was before the cache) must stay under the bound,
// which covers the entries and those waiting to be admitted, and the
// stated overhead of ristretto's fixed tables (its sketch, doorkeeper and
// buffers: 2 MiB allowed, about 1 MiB measured).
// The heap in use is logged (go test -v -run TestMemoryBound).
func TestMemoryBound(t *testing.T) {
	if raceEnabled {
		// 40 s under the race detector, and one goroutine: the plain go
		// test run measures this.
		t.Skip("one goroutine, and slow under the race detector; the plain go test run measures this")
	}
	const (
		pages     = 100000
		minSize   = 20 << 10
		maxSize   = 150 << 10
		sampleGap = 5000
		maxBytes  = respcache.DefaultMaxBytes
		overhead  = 2 << 20
	)
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny, Stub: true}
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, maxSize)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	entry := &respcache.Entry{Encoding: "gzip", Removed: []respcache.Removal{
		{Vendor: "google-analytics", Category: rules.Analytics, Action: rules.Remove, Element: "script", Count: 2},
	}}
	var ms runtime.MemStats
	heap := func() int64 {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	base := heap()
	c := newCache(t, respcache.Options{})
	empty := heap() - base
	var peak, total int64
	hits := 0
	for i := range pages {
		size := minSize + r.IntN(maxSize-minSize+1)
		body := buf[:size]
		binary.LittleEndian.PutUint64(body, uint64(i))
		total += int64(size)
		k, _ := c.Key(body, &pol, "gzip", browser)
		if _, hit := c.Get(k); hit {
			hits++
			continue
		}
		entry.Body = body
		c.Set(k, entry)
		if (i+1)%sampleGap == 0 {
			if h := heap() - base; h > peak {
				peak = h
			}
		}
	}
	c.Wait()
	end := heap() - base
	peak = max(peak, end)
	st := c.Stats()
	t.Logf("%d pages, %d MiB through a %d MiB cache: heap held by the cache empty %.1f MiB, peak %.1f MiB, at the end %.1f MiB (bytes in use %.1f MiB); allowed %.1f MiB",
		pages, total>>20, maxBytes>>20, mib(empty), mib(peak), mib(end), mib(c.Bytes()), mib(maxBytes+overhead))
	t.Logf("hits %d, evictions %d, refused: admission %d, busy %d, too large %d",
		hits, st.Evictions, st.RefusedAdmission, st.RefusedBusy, st.RefusedTooLarge)
	if hits != 0 {
		t.Errorf("%d hits among distinct pages", hits)
	}
	if peak > maxBytes+overhead {
		t.Errorf("the cache held %.1f MiB of heap, above its bound of %d MiB and %.1f MiB of overhead",
			mib(peak), maxBytes>>20, mib(overhead))
	}
	if c.Bytes() > maxBytes {
		t.Errorf("bytes in use %d above the bound %d", c.Bytes(), maxBytes)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// TestMemoryBoundSmallEntries: the bound holds for small entries too,
// where the per-entry overhead the cost counts (Entry.Cost) outweighs the
// body: 200 000 distinct 100-byte bodies through a 16 MiB cache.
func TestMemoryBoundSmallEntries(t *testing.T) {
	if raceEnabled {
		t.Skip("one goroutine, and slow under the race detector; the plain go test run measures this")
	}
	const (
		entries  = 200000
		maxBytes = 16 << 20
		overhead = 1 << 20 // ristretto's tables, 0.5 MiB measured
	)
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	var ms runtime.MemStats
	heap := func() int64 {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	base := heap()
	c := newCache(t, respcache.Options{MaxBytes: maxBytes})
	empty := heap() - base
	body := make([]byte, 100)
	e := &respcache.Entry{Encoding: "gzip", Removed: []respcache.Removal{
		{Vendor: "google-analytics", Category: rules.Analytics, Action: rules.Remove, Element: "script", Count: 1},
	}}
	for i := range entries {
		binary.LittleEndian.PutUint64(body, uint64(i))
		k, _ := c.Key(body, &pol, "", curl)
		e.Body = body
		c.Set(k, e)
	}
	c.Wait()
	end := heap() - base
	e.Body = append([]byte(nil), body...) // as stored
	held := c.Bytes() / e.Cost()
	t.Logf("%d entries of 100 bytes through a %d MiB cache: heap held empty %.1f MiB, at the end %.1f MiB for about %d entries: %.0f bytes each beyond the empty cache, cost %d",
		entries, maxBytes>>20, mib(empty), mib(end), held, float64(end-empty)/float64(held), e.Cost())
	if end > maxBytes+overhead {
		t.Errorf("the cache held %.1f MiB of heap, above its bound of %d MiB and %.1f MiB of overhead",
			mib(end), maxBytes>>20, mib(overhead))
	}
}
