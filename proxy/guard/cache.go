package guard

import (
	"sync"
	"sync/atomic"

	"github.com/consentgate/consentgate/rules"
)

// numDeny is the number of sets of categories a visitor may deny.
const numDeny = 1 << rules.NumCategories

// numSlots is the number of scripts a site may need: one per set of
// denied categories and propagation.
const numSlots = numDeny * int(numPropagations)

// Cache holds the guard scripts of one rule set, compiled on first use:
// one per site, set of denied categories and propagation; and the head
// scripts without the guard (Head) and the consent mirrors (Mirror). It is
// safe for concurrent use; a hit is an atomic load.
type Cache struct {
	set     *rules.Set
	sites   [][numSlots]atomic.Pointer[entry]
	heads   [][numSlots]atomic.Pointer[entry]
	mirrors []atomic.Pointer[mirrorEntry]
	mu      sync.Mutex // serialises compiling
}

type mirrorEntry struct{ m *Mirror }

type entry struct{ s *Script } // s is nil when the policy needs no guard

// NewCache returns an empty cache for set.
func NewCache(set *rules.Set) *Cache {
	n := len(set.Sites())
	return &Cache{set: set, sites: make([][numSlots]atomic.Pointer[entry], n),
		heads: make([][numSlots]atomic.Pointer[entry], n), mirrors: make([]atomic.Pointer[mirrorEntry], n)}
}

// For returns the guard for site (of the cache's set) and a visitor who
// denies deny, or nil when there is nothing to guard.
func (c *Cache) For(site *rules.Site, deny rules.Categories) *Script {
	return c.ForPropagation(site, deny, PropagateNone)
}

// ForPropagation is For for a visitor whose opt-out the page propagates
// as p (see PropagationFor).
func (c *Cache) ForPropagation(site *rules.Site, deny rules.Categories, p Propagation) *Script {
	return c.load(&c.sites[site.Index()][slot(deny, p)], func() *Script {
		return CompileFor(c.set, site, deny&(numDeny-1), p)
	})
}

// Head returns the head script without the guard for site, a visitor who
// denies deny and propagation p: the stub and the site's signal scripts,
// for a page that gets no guard (guard: off, or nothing to refuse). It is
// nil when the site has no signal script for p.
func (c *Cache) Head(site *rules.Site, deny rules.Categories, p Propagation) *Script {
	return c.load(&c.heads[site.Index()][slot(deny, p)], func() *Script {
		return compileHead(c.set, site, deny&(numDeny-1), p)
	})
}

// Mirror returns the consent mirror of site, or nil when the site does
// not have it.
func (c *Cache) Mirror(site *rules.Site) *Mirror {
	ptr := &c.mirrors[site.Index()]
	if e := ptr.Load(); e != nil {
		return e.m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := ptr.Load(); e != nil {
		return e.m
	}
	e := &mirrorEntry{CompileMirror(site)}
	ptr.Store(e)
	return e.m
}

func slot(deny rules.Categories, p Propagation) int {
	return int(p%numPropagations)*numDeny + int(deny&(numDeny-1))
}

func (c *Cache) load(ptr *atomic.Pointer[entry], compile func() *Script) *Script {
	if e := ptr.Load(); e != nil {
		return e.s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := ptr.Load(); e != nil {
		return e.s
	}
	e := &entry{compile()}
	ptr.Store(e)
	return e.s
}

// ByFingerprint returns the guard of site whose fingerprint is fp, or nil
// when no set of denied categories and propagation gives it under this
// rule set (a page served under an older set, or a made-up name). It
// compiles at most every policy of the site once; the site's own opt-out
// denial and the opt-in region's come first.
func (c *Cache) ByFingerprint(site *rules.Site, fp string) *Script {
	if len(fp) != 24 {
		return nil
	}
	props := []Propagation{PropagateNone}
	if site.Propagate {
		props = []Propagation{PropagateOptOut, PropagateOptOutGPC, PropagateNone}
	}
	try := func(d rules.Categories) *Script {
		for _, p := range props {
			if s := c.ForPropagation(site, d, p); s != nil && s.Fingerprint == fp {
				return s
			}
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
