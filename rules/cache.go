package rules

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// The hot-path lookups of a request — which site a Host header belongs to,
// which vendor an element's URL host belongs to on that site — go through
// two process-wide ristretto caches in front of the compiled tables. A page
// names the same few dozen hosts on every view, so most lookups are one
// hash and one probe whatever the length of the host or the size of the
// imported lists. The caches are shared by every Set (a key starts with the
// set's id), so a reload starts no goroutines and old entries age out by
// LFU; they are bounded by entry count. A miss answers from the tables,
// so a cache that dropped or refused an entry changes only the cost.
//
// Measured in one run on a loaded 2-core machine (go test -run '^$' -bench
// LookupCache -count 3 ./rules): a cached classification costs 115-160 ns
// whatever the host; the tables cost 85 ns for a short first-party host
// and 200-240 ns for a tracker or a long host. Metrics (hit ratio on the
// dashboard) cost about 20% of a hit.
var (
	setIDs     atomic.Uint64
	cachesOnce sync.Once
	siteCache  *ristretto.Cache[uint64, *cacheEntry[Site]]
	hostCache  *ristretto.Cache[uint64, *cacheEntry[Vendor]]
	seed       = maphash.MakeSeed()
)

// cacheEntry is a cached answer with the key it answers for. Caches are
// keyed by a 64-bit hash of the key (a []byte key would escape to the heap
// on every Get); the full key is compared on a hit, so a hash collision is
// a miss, never a wrong answer.
type cacheEntry[T any] struct {
	key string
	v   *T // nil: no site, not a tracker
}

// maxCachedHost bounds the hosts that are cached; longer ones (not real
// host names) are looked up every time.
const maxCachedHost = 253

func caches() {
	cachesOnce.Do(func() {
		var err error
		siteCache, err = ristretto.NewCache(&ristretto.Config[uint64, *cacheEntry[Site]]{
			NumCounters: 1 << 17, MaxCost: 1 << 13, BufferItems: 64, Metrics: true,
		})
		if err != nil {
			panic("rules: cannot create the site cache: " + err.Error())
		}
		hostCache, err = ristretto.NewCache(&ristretto.Config[uint64, *cacheEntry[Vendor]]{
			NumCounters: 1 << 20, MaxCost: 1 << 16, BufferItems: 64, Metrics: true,
		})
		if err != nil {
			panic("rules: cannot create the host cache: " + err.Error())
		}
	})
}

// CacheMetrics returns the hit and miss counts of the site and host lookup
// caches since the process started.
func CacheMetrics() (siteHits, siteMisses, hostHits, hostMisses uint64) {
	caches()
	return siteCache.Metrics.Hits(), siteCache.Metrics.Misses(), hostCache.Metrics.Hits(), hostCache.Metrics.Misses()
}

// cacheKey writes the set id, a site index (or 0xffff) and the host into
// buf: no allocation, the key is only hashed.
func cacheKey(buf *[10 + maxCachedHost]byte, id uint64, site int, host []byte) []byte {
	binary.LittleEndian.PutUint64(buf[:8], id)
	binary.LittleEndian.PutUint16(buf[8:10], uint16(site))
	return append(buf[:10], host...)
}

func (s *Set) cachedSite(host []byte) *Site {
	if len(host) > maxCachedHost {
		return s.lookupSite(host)
	}
	caches()
	var buf [10 + maxCachedHost]byte
	key := cacheKey(&buf, s.id, 0xffff, host)
	h := maphash.Bytes(seed, key)
	if e, ok := siteCache.Get(h); ok && e.key == string(key) {
		return e.v
	}
	st := s.lookupSite(host)
	siteCache.Set(h, &cacheEntry[Site]{string(key), st}, 1)
	return st
}

func (s *Set) cachedClassify(site *Site, host []byte) *Vendor {
	if len(host) > maxCachedHost {
		return s.classify(site, host)
	}
	caches()
	idx := 0xfffe // no site
	if site != nil {
		idx = site.index
	}
	var buf [10 + maxCachedHost]byte
	key := cacheKey(&buf, s.id, idx, host)
	h := maphash.Bytes(seed, key)
	if e, ok := hostCache.Get(h); ok && e.key == string(key) {
		return e.v
	}
	v := s.classify(site, host)
	hostCache.Set(h, &cacheEntry[Vendor]{string(key), v}, 1)
	return v
}

// waitCaches blocks until entries set so far are visible to Get (ristretto
// applies Set asynchronously); for tests.
func waitCaches() {
	caches()
	siteCache.Wait()
	hostCache.Wait()
}
