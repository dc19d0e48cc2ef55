package rules

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// The hot-path lookups of a request — which site a Host header belongs to,
// which vendor an element's URL host belongs to on that site — are cached
// in two levels in front of the compiled tables:
//
//   - a front table per Set: a fixed array of atomic pointers indexed by a
//     hash of the host and site (direct-mapped, last writer wins). A hit is
//     one hash, one atomic load and a compare: no lock, no allocation. A
//     reload starts with an empty table because the table belongs to the set.
//   - behind it, two process-wide ristretto caches shared by every Set (the
//     key mixes in the set's id): TinyLFU admission, bounded by entry count,
//     no goroutines started per reload. They start with the first miss and
//     stop with CloseCaches. A front slot that lost its entry to
//     another host is refilled from here without allocating.
//
// A miss in both answers from the tables, so a cache that dropped or
// refused an entry changes only the cost, never the answer: every entry
// carries its whole key (host, site, set), compared on every hit.
//
// Why two levels: ristretto's Get alone (a sync.Pool round trip for its
// access buffer, a read lock, a map probe, a metrics counter) costs about
// as much as the tables for a short host. Figures are in docs/DESIGN.md,
// "Lookup caches" (go test -run '^$' -bench LookupCache -count 5 ./rules).
var (
	setIDs   atomic.Uint64
	shared   atomic.Pointer[sharedCaches] // nil until the first miss, and after CloseCaches
	sharedMu sync.Mutex                   // serialises creating and closing them
	seed     = maphash.MakeSeed()

	siteStats, hostStats cacheStats
)

// sharedCaches are the two process-wide caches behind the front tables.
type sharedCaches struct {
	site *ristretto.Cache[uint64, *cacheEntry[Site]]
	host *ristretto.Cache[uint64, *cacheEntry[Vendor]]
}

// Sizes of a Set's front tables (slots, powers of two; 8 bytes a slot).
const (
	siteFrontSlots = 1 << 10
	hostFrontSlots = 1 << 14
)

// maxCachedHost bounds the hosts that are cached; longer ones (not real
// host names) are looked up every time.
const maxCachedHost = 253

// noSite is the site index of a lookup without a site.
const noSite = -1

// cacheEntry is a cached answer with the whole key it answers for.
type cacheEntry[T any] struct {
	hash uint64 // hostHash(host, site)
	set  uint64
	site int
	host string
	v    *T // nil: no site, not a tracker
}

func (e *cacheEntry[T]) is(hash, set uint64, site int, host []byte) bool {
	return e.hash == hash && e.set == set && e.site == site && e.host == string(host)
}

// front is a Set's front table.
type front[T any] struct {
	slots []atomic.Pointer[cacheEntry[T]]
}

func newFront[T any](n int) front[T] {
	return front[T]{slots: make([]atomic.Pointer[cacheEntry[T]], n)}
}

func (f *front[T]) slot(hash uint64) *atomic.Pointer[cacheEntry[T]] {
	return &f.slots[hash&uint64(len(f.slots)-1)]
}

// hostHash hashes a host with the index of the site it is looked up for.
func hostHash(host []byte, site int) uint64 {
	return maphash.Bytes(seed, host) ^ uint64(site+2)*0x9e3779b97f4a7c15
}

// sharedKey is the ristretto key of a lookup: its hash mixed with the set id.
func sharedKey(hash, set uint64) uint64 { return hash ^ set*0xbf58476d1ce4e5b9 }

// cacheStats counts where lookups were answered: the front table, the
// shared cache, or the tables (missed). A front-table hit is the common case
// and the counter is written by every core: an atomic add on one shared
// line per hit would cost more than the hit, so front hits are sampled, one
// in frontSample counted as frontSample (an estimate within about 1% after
// a million lookups). Shared hits and misses are counted exactly.
type cacheStats struct {
	_              [64]byte // no other variable on these cache lines
	front          atomic.Uint64
	_              [56]byte
	shared, missed atomic.Uint64
	_              [48]byte
}

const frontSample = 64

func (st *cacheStats) frontHit() {
	if rand.Uint32()&(frontSample-1) == 0 {
		st.front.Add(frontSample)
	}
}

func (st *cacheStats) counts() (hits, misses uint64) {
	return st.front.Load() + st.shared.Load(), st.missed.Load()
}

// caches returns the shared caches, creating them on first use.
func caches() *sharedCaches {
	if c := shared.Load(); c != nil {
		return c
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if c := shared.Load(); c != nil {
		return c
	}
	c := &sharedCaches{}
	var err error
	c.site, err = ristretto.NewCache(&ristretto.Config[uint64, *cacheEntry[Site]]{
		NumCounters: 1 << 17, MaxCost: 1 << 13, BufferItems: 64,
	})
	if err != nil {
		panic("rules: cannot create the site cache: " + err.Error())
	}
	c.host, err = ristretto.NewCache(&ristretto.Config[uint64, *cacheEntry[Vendor]]{
		NumCounters: 1 << 20, MaxCost: 1 << 16, BufferItems: 64,
	})
	if err != nil {
		panic("rules: cannot create the host cache: " + err.Error())
	}
	shared.Store(c)
	return c
}

// CloseCaches stops the goroutines of the two process-wide lookup caches
// (ristretto's) and drops what they hold; the next lookup that misses a
// front table starts new ones. Answers never depend on the caches. Call it
// only when no lookup runs, at the end of a program or a test binary (a
// goroutine-leak check can then see that nothing else was left): ristretto
// does not allow a Set on a cache while it closes.
func CloseCaches() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if c := shared.Swap(nil); c != nil {
		c.site.Close()
		c.host.Close()
	}
}

// CacheMetrics returns the hit and miss counts of the site and host lookups
// since the process started: a hit was answered by a front table or the
// shared cache, a miss by the compiled tables.
func CacheMetrics() (siteHits, siteMisses, hostHits, hostMisses uint64) {
	siteHits, siteMisses = siteStats.counts()
	hostHits, hostMisses = hostStats.counts()
	return
}

// refill answers a lookup that missed the front table (h is its hostHash,
// slot its front-table slot): from the shared cache c if it holds the
// entry, else from compute; either way the entry goes into the slot.
func refill[T any](s *Set, slot *atomic.Pointer[cacheEntry[T]], c *ristretto.Cache[uint64, *cacheEntry[T]],
	st *cacheStats, h uint64, idx int, host []byte, compute func() *T) *T {
	k := sharedKey(h, s.id)
	if e, ok := c.Get(k); ok && e.is(h, s.id, idx, host) {
		slot.Store(e)
		st.shared.Add(1)
		return e.v
	}
	st.missed.Add(1)
	e := &cacheEntry[T]{hash: h, set: s.id, site: idx, host: string(host), v: compute()}
	c.Set(k, e, 1)
	slot.Store(e)
	return e.v
}

func (s *Set) cachedSite(host []byte) *Site {
	if len(host) > maxCachedHost {
		return s.lookupSite(host)
	}
	h := hostHash(host, noSite)
	slot := s.siteFront.slot(h)
	if e := slot.Load(); e != nil && e.is(h, s.id, noSite, host) {
		siteStats.frontHit()
		return e.v
	}
	return refill(s, slot, caches().site, &siteStats, h, noSite, host, func() *Site { return s.lookupSite(host) })
}

func (s *Set) cachedClassify(site *Site, host []byte) *Vendor {
	if len(host) > maxCachedHost {
		return s.classify(site, host)
	}
	idx := noSite
	if site != nil {
		idx = site.index
	}
	h := hostHash(host, idx)
	slot := s.hostFront.slot(h)
	if e := slot.Load(); e != nil && e.is(h, s.id, idx, host) {
		hostStats.frontHit()
		return e.v
	}
	return refill(s, slot, caches().host, &hostStats, h, idx, host, func() *Vendor { return s.classify(site, host) })
}

// waitCaches blocks until entries set so far are visible to Get (ristretto
// applies Set asynchronously); for tests.
func waitCaches() {
	c := caches()
	c.site.Wait()
	c.host.Wait()
}
