package signals

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/oschwald/maxminddb-golang/v2"
)

// CountryLookup finds the ISO 3166-1 alpha-2 country of an address. ok is
// false when the address has no country. Implementations must be safe for
// concurrent use.
type CountryLookup interface {
	Country(addr netip.Addr) (cc [2]byte, ok bool)
}

// Mode is the consent regime for a request.
type Mode uint8

const (
	// ModeOptOut: everything is allowed until the visitor opts out (the
	// default, and the mode where the country is unknown).
	ModeOptOut Mode = iota
	// ModeOptIn: everything but necessary is denied until a consent string
	// or CMP cookie grants it (p.OptInCountries).
	ModeOptIn
)

func (m Mode) String() string {
	if m == ModeOptIn {
		return "opt-in"
	}
	return "opt-out"
}

// mmdb looks countries up in a MaxMind GeoIP2/GeoLite2 Country (or City)
// database, caching answers by address.
type mmdb struct {
	db    *maxminddb.Reader
	cache *ristretto.Cache[[]byte, [2]byte]
	once  sync.Once
}

func openMMDB(path string) (*mmdb, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open geoip database %q: %w", path, err)
	}
	c, err := ristretto.NewCache(&ristretto.Config[[]byte, [2]byte]{
		NumCounters: 1e5, MaxCost: 1e4, BufferItems: 64,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot create geoip cache: %w", err)
	}
	return &mmdb{db: db, cache: c}, nil
}

// Country implements CountryLookup. A cached address costs a lookup and no
// allocation; a miss decodes country.iso_code.
func (m *mmdb) Country(addr netip.Addr) ([2]byte, bool) {
	key := addr.As16()
	if cc, ok := m.cache.Get(key[:]); ok {
		return cc, cc != [2]byte{}
	}
	var iso string
	var cc [2]byte
	if err := m.db.Lookup(addr).DecodePath(&iso, "country", "iso_code"); err == nil && len(iso) == 2 {
		cc = [2]byte{upper(iso[0]), upper(iso[1])}
	}
	m.cache.Set(key[:], cc, 1)
	return cc, cc != [2]byte{}
}

// close releases the database and its cache; safe to call more than once
// (a retired database's timer and Reader.Close may both call it).
func (m *mmdb) close() {
	m.once.Do(func() {
		m.cache.Close()
		m.db.Close()
	})
}

// RetainGeoIP closes, after grace, every open GeoIP database whose path is
// not in paths: call it with the databases of the rule set just swapped in,
// and the grace its holder gives replaced sets (reload.Holder.Grace). A
// database is looked up at the start of a request, so grace need only cover
// requests that loaded the old set and have not read their signals yet.
func (r *Reader) RetainGeoIP(paths []string, grace time.Duration) {
	r.geo.retain(paths, grace)
}

// geoDBs holds the databases named by sites, opened once by path. Lookups
// read an immutable map through one atomic load: no lock on the request
// path (maxminddb readers are safe for concurrent use). Opening and
// retiring copy the map under mu.
type geoDBs struct {
	dbs atomic.Pointer[map[string]*geoDB]

	mu      sync.Mutex // serialises writers of dbs; guards retired and closed
	retired []retiredDB
	closed  bool
}

type geoDB struct {
	lookup CountryLookup
	err    error
}

type retiredDB struct {
	t  *time.Timer
	db *mmdb
}

// get returns the database at path, opening it on first use; a failure is
// remembered so a request never retries it (OpenGeoIP does).
func (g *geoDBs) get(path string) *geoDB {
	if m := g.dbs.Load(); m != nil {
		if d, ok := (*m)[path]; ok {
			return d
		}
	}
	return g.open(path, false)
}

// open opens the database at path unless it is open; with retry, also
// unless it failed before.
func (g *geoDBs) open(path string, retry bool) *geoDB {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.dbs.Load()
	if cur != nil {
		if d, ok := (*cur)[path]; ok && (d.err == nil || !retry) {
			return d
		}
	}
	d := &geoDB{}
	if g.closed {
		d.err = errors.New("signals reader closed")
		return d
	}
	m, err := openMMDB(path)
	if err != nil {
		d.err = err
	} else {
		d.lookup = m
	}
	next := make(map[string]*geoDB, 1)
	if cur != nil {
		maps.Copy(next, *cur)
	}
	next[path] = d
	g.dbs.Store(&next)
	return d
}

// retain forgets every database whose path is not in keep and closes it
// after grace (a request that looked it up before has long finished with
// it: the lookup is the first thing a request does).
func (g *geoDBs) retain(keep []string, grace time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.dbs.Load()
	if cur == nil {
		return
	}
	next := make(map[string]*geoDB, len(keep))
	for _, p := range keep {
		if d, ok := (*cur)[p]; ok {
			next[p] = d
		}
	}
	for p, d := range *cur {
		if _, ok := next[p]; ok {
			continue
		}
		if m, ok := d.lookup.(*mmdb); ok {
			g.retired = append(g.retired, retiredDB{time.AfterFunc(grace, m.close), m})
		}
	}
	g.dbs.Store(&next)
}

// close closes every database now, retired ones included.
func (g *geoDBs) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, r := range g.retired {
		r.t.Stop()
		r.db.close()
	}
	g.retired = nil
	if cur := g.dbs.Swap(nil); cur != nil {
		for _, d := range *cur {
			if m, ok := d.lookup.(*mmdb); ok {
				m.close()
			}
		}
	}
}

// regionResult is the visitor's country and the resulting mode.
type regionResult struct {
	cc        [2]byte
	from      string // "header", "geoip" or ""
	mode      Mode
	err       error
	untrusted bool // a country header from an untrusted peer was not believed
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

// parseCountry reads a two-letter code from a trusted header value, or
// the country of an ISO 3166-2 subdivision code ("US-TX": US), so that one
// header can carry both country and state. Codes that are not two letters
// (Cloudflare's "XX" unknown and "T1" Tor, empty) are unknown.
func parseCountry(v []byte) ([2]byte, bool) {
	v = trimOWS(v)
	if len(v) > 3 && len(v) <= 6 && v[2] == '-' {
		v = v[:2] // ISO 3166-2: the country, '-', one to three characters
	}
	if len(v) != 2 {
		return [2]byte{}, false
	}
	cc := [2]byte{upper(v[0]), upper(v[1])}
	if !isLetter(cc[0]) || !isLetter(cc[1]) || cc == [2]byte{'X', 'X'} {
		return [2]byte{}, false
	}
	return cc, true
}

// modeFor returns the site's mode for a country.
func modeFor(p *Policy, cc [2]byte) Mode {
	if p != nil && p.OptInCountries[string(cc[:])] {
		return ModeOptIn
	}
	return ModeOptOut
}

// parseState reads a US state from a trusted header value: "US-TX" (ISO
// 3166-2, any case), or a bare "TX" when the visitor's country is known to
// be US (Cloudflare's CF-Region-Code and CloudFront's
// CloudFront-Viewer-Country-Region hold every country's subdivisions, so a
// bare code alone says nothing). A subdivision of another country, or a
// US-XX that contradicts a known non-US country, is no state.
func parseState(v []byte, cc [2]byte, ccKnown bool) ([2]byte, bool) {
	v = trimOWS(v)
	us := [2]byte{'U', 'S'}
	switch {
	case len(v) == 5 && v[2] == '-':
		if upper(v[0]) != 'U' || upper(v[1]) != 'S' || ccKnown && cc != us {
			return [2]byte{}, false
		}
		v = v[3:]
	case len(v) == 2:
		if !ccKnown || cc != us {
			return [2]byte{}, false
		}
	default:
		return [2]byte{}, false
	}
	st := [2]byte{upper(v[0]), upper(v[1])}
	if !isLetter(st[0]) || !isLetter(st[1]) {
		return [2]byte{}, false
	}
	return st, true
}
