package signals

import (
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// entryKind says which parser produced a cache entry: the same bytes in two
// cookies (a bare TC string in __gpp and in euconsent-v2) are parsed by
// different parsers, so a hit of the wrong kind counts as a miss.
type entryKind uint8

const (
	kindGPP entryKind = iota + 1
	kindTCF
	kindCMP // + cmpKind
)

// entry is a decoded consent string. It is immutable once stored.
type entry struct {
	kind entryKind
	gpp  gppResult
	tcf  tcfResult
	cmp  cmpResult
}

// stringCache caches decoded consent strings by their raw bytes. Get with a
// []byte key hashes the bytes and allocates nothing; ristretto keeps only
// the hashes, never the key, so fasthttp's borrowed bytes are safe to pass.
type stringCache struct {
	c            *ristretto.Cache[[]byte, *entry]
	hits, misses atomic.Uint64
}

func newStringCache(maxCost, counters int64) (*stringCache, error) {
	c, err := ristretto.NewCache(&ristretto.Config[[]byte, *entry]{
		NumCounters: counters,
		MaxCost:     maxCost,
		BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	return &stringCache{c: c}, nil
}

func (sc *stringCache) get(kind entryKind, key []byte) *entry {
	if e, ok := sc.c.Get(key); ok && e.kind == kind {
		sc.hits.Add(1)
		return e
	}
	sc.misses.Add(1)
	return nil
}

// put stores e; the cost is the string length plus the decoded vendor set,
// so MaxCost bounds the bytes held.
func (sc *stringCache) put(key []byte, e *entry) {
	cost := int64(len(key)) + 64 + int64(len(e.tcf.vendors)+len(e.gpp.tcf.vendors)+len(e.gpp.tcfca.vendors))*8
	sc.c.Set(key, e, cost)
}
