package signals

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/consentgate/consentgate/rules"
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
	// or CMP cookie grants it (site.OptInCountries).
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

func (m *mmdb) close() {
	m.cache.Close()
	m.db.Close()
}

// geoDBs holds the databases named by sites, opened once by path.
type geoDBs struct {
	mu  sync.Mutex
	dbs map[string]*geoDB
}

type geoDB struct {
	lookup CountryLookup
	err    error
}

func (g *geoDBs) open(path string) *geoDB {
	g.mu.Lock()
	defer g.mu.Unlock()
	if d, ok := g.dbs[path]; ok {
		return d
	}
	if g.dbs == nil {
		g.dbs = make(map[string]*geoDB)
	}
	d := &geoDB{}
	m, err := openMMDB(path)
	if err != nil {
		d.err = err
	} else {
		d.lookup = m
	}
	g.dbs[path] = d
	return d
}

// regionResult is the visitor's country and the resulting mode.
type regionResult struct {
	cc   [2]byte
	from string // "header", "geoip" or ""
	mode Mode
	err  error
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
func modeFor(site *rules.Site, cc [2]byte) Mode {
	if site != nil && site.OptInCountries[string(cc[:])] {
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
