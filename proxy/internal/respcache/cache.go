package respcache

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/minio/highwayhash"
)

// DefaultMaxBytes is the bound of a cache whose Options give none.
const DefaultMaxBytes = 64 << 20

// DefaultMaxEntry is the largest entry a cache whose Options give no
// MaxEntry stores (or a quarter of MaxBytes, when less): a page the proxy
// reads whole (up to 256 KiB as the upstream sends it) fits, decoded,
// unless it compresses more than four times.
const DefaultMaxEntry = 1 << 20

// entryOverhead is what one entry costs beyond its bytes, counted in its
// cost: the Entry and its key's high half (112 bytes), ristretto's item in
// its store and the admission policy's record of its cost, with their map
// slots. TestMemoryBoundSmallEntries measured 446 bytes of heap for an
// entry of a 100-byte body (112 allocated) and one Removal (48), so about
// 290 for the rest.
const entryOverhead = 320

// removalSize is what one Removal costs beyond its strings' bytes.
const removalSize = int64(unsafe.Sizeof(Removal{}))

// Options configure a Cache.
type Options struct {
	// MaxBytes bounds the memory the cache holds: its entries (see
	// Entry.Cost) and those handed to Set and not yet admitted, which get
	// a thirty-second of it (at least MaxEntry). 0 is DefaultMaxBytes.
	// ristretto's own tables come on top: about 1 MiB for 64 MiB.
	MaxBytes int64
	// MaxEntry is the largest entry (Entry.Cost) stored; a larger one is
	// refused. 0 is DefaultMaxEntry, or a quarter of MaxBytes when that is
	// smaller; more than a quarter is an error.
	MaxEntry int64
}

// Entry is one rewritten response as the proxy sent it: its body and what
// of its headers, metrics and receipt depend on the body, so a hit can do
// what the miss did without decoding, rewriting or encoding. An Entry that
// Get returns is shared and must not be modified; its Body can be handed to
// fasthttp.Response.SetBodyRaw.
type Entry struct {
	// Body is the body sent, in Encoding.
	Body []byte
	// Encoding is the Content-Encoding sent ("gzip"), "" for none.
	Encoding string
	// FailClosed is the reason code of a page the proxy could not read and
	// sent as it came under the fail-closed CSP; "" for a page rewritten.
	FailClosed string
	// Read is how many decoded bytes the rewriter read.
	Read int64
	// Removed is what the rewriter removed or neutralised.
	Removed []Removal
	// Oversize and Unrecorded are the rewriter's Stats of the same names.
	Oversize, Unrecorded int
}

// Removal is a rewrite.Removal that outlives its rule set: the vendor by
// id (rules.Set.VendorByID of a set of the same version gives it back),
// with its category on the site.
type Removal struct {
	Vendor   string
	Category rules.Category
	Action   rules.Action
	Element  string
	Count    int
}

// Cost is what e counts against the cache's bound: the memory of its
// body (its capacity, which for a stored entry is its length rounded up to
// the allocator's size class: 4 KiB more on average for a page over 32
// KiB), its strings and a fixed overhead per entry.
func (e *Entry) Cost() int64 {
	n := int64(cap(e.Body)+len(e.Encoding)+len(e.FailClosed)) + entryOverhead
	for _, r := range e.Removed {
		n += removalSize + int64(len(r.Vendor)+len(r.Element))
	}
	return n
}

// Cache holds rewritten responses, bounded in bytes. Admission is
// ristretto's TinyLFU: a new entry displaces only entries used less often
// than itself, so a stream of one-off pages does not push out the pages
// served most. Its methods are safe for concurrent use. A nil *Cache
// stores nothing: Key gives false, Get misses without counting, Set refuses.
type Cache struct {
	rc       *ristretto.Cache[uint64, *stored]
	secret   [highwayhash.Size]byte
	maxBytes int64
	maxEntry int64

	// pending counts the bytes of entries handed to ristretto and perhaps
	// not yet admitted or refused, up to maxPending: its buffer of sets
	// holds 32 Ki of them, which for pages would be GiBs beyond the bound.
	// It is an upper bound: it drops when Wait has applied them all.
	pending    atomic.Int64
	maxPending int64
	flush      sync.Mutex

	hits, misses, evictions atomic.Uint64
	refused                 [numRefusals]atomic.Uint64

	// life lets Close wait for the Gets and Sets under way: ristretto
	// panics when used after its Close. closed is set under its write
	// lock.
	life   sync.RWMutex
	closed atomic.Bool
}

// Reasons a Set is refused (label values of the refused metric).
const (
	refusedAdmission = iota // the admission policy kept what it had
	refusedTooLarge         // the entry is above MaxEntry
	refusedBusy             // too many entries waiting to be admitted
	numRefusals
)

var refusalNames = [numRefusals]string{"admission", "too_large", "busy"}

// New returns a cache with the given bound. Close releases its goroutines.
func New(opts Options) (*Cache, error) {
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("cannot make the response cache: max bytes %d is negative", opts.MaxBytes)
	}
	if opts.MaxEntry < 0 {
		return nil, fmt.Errorf("cannot make the response cache: max entry %d is negative", opts.MaxEntry)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxEntry == 0 {
		opts.MaxEntry = min(DefaultMaxEntry, opts.MaxBytes/4)
	}
	if opts.MaxEntry > opts.MaxBytes/4 {
		return nil, fmt.Errorf("cannot make the response cache: max entry %d is above a quarter of max bytes %d", opts.MaxEntry, opts.MaxBytes)
	}
	c := &Cache{secret: secret(), maxBytes: opts.MaxBytes, maxEntry: opts.MaxEntry}
	// The bytes waiting to be admitted are part of the bound: a
	// thirty-second of it, room for one of the largest entries at least.
	c.maxPending = max(opts.MaxBytes/32, opts.MaxEntry)
	// Ten counters per entry the bound holds at 4 KiB an entry (ristretto's
	// advice is ten per entry), at least 1 Ki.
	counters := max(10*opts.MaxBytes/(4<<10), 1<<10)
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, *stored]{
		NumCounters: counters,
		MaxCost:     opts.MaxBytes - c.maxPending,
		BufferItems: 64,
		// The Key is a keyed hash already: its low half is ristretto's
		// key, its high half is checked by Get.
		KeyToHash:          func(k uint64) (uint64, uint64) { return k, 0 },
		IgnoreInternalCost: true, // in entryOverhead
		OnEvict: func(*ristretto.Item[*stored]) {
			if !c.closed.Load() {
				c.evictions.Add(1)
			}
		},
		OnReject: func(it *ristretto.Item[*stored]) {
			// ristretto also rejects a second new item of a key it holds
			// (two misses of one page set it before the first is applied);
			// that entry is stored, not refused. GetTTL reads the store
			// without counting a read.
			if _, held := c.rc.GetTTL(it.Key); !held {
				c.refused[refusedAdmission].Add(1)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cannot make the response cache: %w", err)
	}
	c.rc = rc
	return c, nil
}

// Get returns the entry of k, if the cache holds it. The entry is shared:
// read it, never modify it.
func (c *Cache) Get(k Key) (*Entry, bool) {
	if c == nil || k == (Key{}) {
		return nil, false
	}
	c.life.RLock()
	defer c.life.RUnlock()
	if c.closed.Load() {
		return nil, false
	}
	v, ok := c.rc.Get(k.lo)
	if !ok || v == nil || v.hi != k.hi {
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return &v.Entry, true
}

// Set stores a copy of e under k (e's Body and Removed may be reused once
// Set returns). It reports whether the entry was handed to the cache;
// admission may still refuse it later. Entries above MaxEntry are refused,
// and so are entries while many wait to be admitted and another caller is
// already waiting for them.
func (c *Cache) Set(k Key, e *Entry) bool {
	if c == nil || k == (Key{}) {
		return false
	}
	c.life.RLock()
	defer c.life.RUnlock()
	if c.closed.Load() {
		return false
	}
	// Refuse what is too large before copying it, and again by the size
	// of the copy.
	if int64(len(e.Body)) > c.maxEntry {
		c.refused[refusedTooLarge].Add(1)
		return false
	}
	s := &stored{Entry: Entry{
		Body:       append([]byte(nil), e.Body...), // capacity: the allocation's size class
		Encoding:   e.Encoding,
		FailClosed: e.FailClosed,
		Read:       e.Read,
		Removed:    append([]Removal(nil), e.Removed...),
		Oversize:   e.Oversize,
		Unrecorded: e.Unrecorded,
	}, hi: k.hi}
	cost := s.Cost()
	if cost > c.maxEntry {
		c.refused[refusedTooLarge].Add(1)
		return false
	}
	if !c.reserve(cost) {
		c.refused[refusedBusy].Add(1)
		return false
	}
	if !c.rc.Set(k.lo, s, cost) {
		c.pending.Add(-cost)
		c.refused[refusedBusy].Add(1)
		return false
	}
	return true
}

// reserve counts cost among the bytes waiting to be admitted, if they stay
// within maxPending: when they would not, one caller waits for ristretto
// to apply what waits, and the others give up (false).
func (c *Cache) reserve(cost int64) bool {
	for {
		p := c.pending.Load()
		if p+cost > c.maxPending {
			if !c.flush.TryLock() {
				return false
			}
			q := c.pending.Load() // all of these are applied by Wait
			c.rc.Wait()
			c.pending.Add(-q)
			c.flush.Unlock()
			continue
		}
		if c.pending.CompareAndSwap(p, p+cost) {
			return true
		}
	}
}

// stored is what ristretto holds: an Entry and the high half of its key,
// which Get checks, since ristretto keys by the low half.
type stored struct {
	Entry
	hi uint64
}

// Wait returns once the entries handed to Set before it are admitted or
// refused. Tests use it; the proxy need not.
func (c *Cache) Wait() {
	if c == nil {
		return
	}
	c.life.RLock()
	defer c.life.RUnlock()
	if c.closed.Load() {
		return
	}
	c.flush.Lock()
	p := c.pending.Load()
	c.rc.Wait()
	c.pending.Add(-p)
	c.flush.Unlock()
}

// Bytes returns what the entries held now cost (not counting those waiting
// to be admitted), below MaxBytes.
func (c *Cache) Bytes() int64 {
	if c == nil {
		return 0
	}
	c.life.RLock()
	defer c.life.RUnlock()
	if c.closed.Load() {
		return 0
	}
	return c.rc.MaxCost() - c.rc.RemainingCost()
}

// MaxBytes returns the cache's bound.
func (c *Cache) MaxBytes() int64 {
	if c == nil {
		return 0
	}
	return c.maxBytes
}

// Stats are the cache's counts since New.
type Stats struct {
	Hits, Misses, Evictions uint64
	// Refused counts entries not stored: by the admission policy, for
	// their size, and while busy.
	RefusedAdmission, RefusedTooLarge, RefusedBusy uint64
}

// Stats returns the counts since New.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(),
		RefusedAdmission: c.refused[refusedAdmission].Load(),
		RefusedTooLarge:  c.refused[refusedTooLarge].Load(),
		RefusedBusy:      c.refused[refusedBusy].Load(),
	}
}

// Close drops every entry and stops the cache's goroutines, once the Gets
// and Sets under way are done; after it, Get misses (uncounted) and Set
// refuses. Close may be called more than once, and at any time.
func (c *Cache) Close() {
	if c == nil {
		return
	}
	c.life.Lock()
	defer c.life.Unlock()
	if c.closed.Load() {
		return
	}
	c.closed.Store(true) // before ristretto's Close, whose evictions are not counted
	c.rc.Close()
}

// AppendRemovals appends the rewriter's removals of a page of site to dst,
// as an Entry keeps them.
func AppendRemovals(dst []Removal, site *rules.Site, rs []rewrite.Removal) []Removal {
	for _, r := range rs {
		dst = append(dst, Removal{Vendor: r.Vendor.ID, Category: site.Category(r.Vendor), Action: r.Action, Element: r.Element, Count: r.Count})
	}
	return dst
}
