package guard

import (
	"sync"
	"sync/atomic"

	"github.com/consentgate/consentgate/rules"
)

// numDeny is the number of sets of categories a visitor may deny.
const numDeny = 1 << rules.NumCategories

// Cache holds the guard scripts of one rule set, compiled on first use:
// one per site and set of denied categories. It is safe for concurrent
// use; a hit is an atomic load.
type Cache struct {
	set   *rules.Set
	sites [][numDeny]atomic.Pointer[entry]
	mu    sync.Mutex // serialises compiling
}

type entry struct{ s *Script } // s is nil when the policy needs no guard

// NewCache returns an empty cache for set.
func NewCache(set *rules.Set) *Cache {
	return &Cache{set: set, sites: make([][numDeny]atomic.Pointer[entry], len(set.Sites()))}
}

// For returns the guard for site (of the cache's set) and a visitor who
// denies deny, or nil when there is nothing to guard.
func (c *Cache) For(site *rules.Site, deny rules.Categories) *Script {
	slot := &c.sites[site.Index()][deny&(numDeny-1)]
	if e := slot.Load(); e != nil {
		return e.s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := slot.Load(); e != nil {
		return e.s
	}
	e := &entry{Compile(c.set, site, deny&(numDeny-1))}
	slot.Store(e)
	return e.s
}

// ByFingerprint returns the guard of site whose fingerprint is fp, or nil
// when no set of denied categories gives it under this rule set (a page
// served under an older set, or a made-up name). It compiles at most every
// policy of the site once; the site's own opt-out denial and the opt-in
// region's come first.
func (c *Cache) ByFingerprint(site *rules.Site, fp string) *Script {
	if len(fp) != 24 {
		return nil
	}
	try := func(d rules.Categories) *Script {
		if s := c.For(site, d); s != nil && s.Fingerprint == fp {
			return s
		}
		return nil
	}
	if s := try(site.Deny); s != nil {
		return s
	}
	if s := try(rules.AllButNecessary); s != nil {
		return s
	}
	for d := rules.Categories(1); d < numDeny; d++ {
		if s := try(d); s != nil {
			return s
		}
	}
	return nil
}
