package lists

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// Options says how an imported list becomes vendors.
type Options struct {
	// ID is the vendor id of an ABP list, or the id prefix of the vendors
	// of the other formats; empty means the format's default.
	ID string
	// Category, when it is a category name, overrides the list's own
	// categories. ABP lists default to advertising.
	Category string
	// Licence is copied to every vendor, so "rules list" shows it.
	Licence string
	// Source is copied to every vendor (for example the file's URL or path).
	Source string
}

// Stats says what one list became.
type Stats struct {
	// Vendors, Hosts and Cookies are what the list became.
	Vendors int `json:"vendors"`
	Hosts   int `json:"hosts"`
	Cookies int `json:"cookies"`
	// Ignored counts entries the format allows but consentgate cannot
	// express (path rules, exceptions, cosmetic filters, unknown categories).
	Ignored int `json:"ignored"`
	// Duplicates counts vendors dropped because their id was taken.
	Duplicates int `json:"duplicates"`
}

// importers are the importers by format name (config.Formats).
var importers = map[string]func(io.Reader, Options) ([]*config.Vendor, Stats, error){
	config.FormatABP:        ABP,
	config.FormatDisconnect: Disconnect,
	config.FormatTDS:        TDS,
	config.FormatOCD:        OpenCookieDatabase,
}

// Import reads a list in format (one of config.Formats).
func Import(format string, r io.Reader, opt Options) ([]*config.Vendor, Stats, error) {
	imp, ok := importers[format]
	if !ok {
		return nil, Stats{}, fmt.Errorf("unknown format %q (want abp, disconnect, tds or open-cookie-database)", format)
	}
	return imp(r, opt)
}

// decodeJSON decodes a list in JSON into doc; name is the list's file
// name and has whether doc holds the object key, which the list must have.
func decodeJSON(r io.Reader, doc any, name, key string, has func() bool) error {
	if err := json.NewDecoder(r).Decode(doc); err != nil {
		return fmt.Errorf("not a %s: %w", name, err)
	}
	if !has() {
		return fmt.Errorf("not a %s: no %q object", name, key)
	}
	return nil
}

// The category names the lists' categories map onto (rules.Category).
const (
	necessary   = "necessary"
	functional  = "functional"
	analytics   = "analytics"
	advertising = "advertising"
	social      = "social"
)

// newVendor returns an imported vendor.
func newVendor(id, name, category string, opt Options) *config.Vendor {
	return &config.Vendor{ID: id, Name: name, CategoryName: category, Source: opt.Source, Licence: opt.Licence}
}

// overrideCategory returns the category of opt, or def.
func overrideCategory(opt Options, def string) string {
	for _, c := range []string{necessary, functional, analytics, advertising, social} {
		if strings.EqualFold(opt.Category, c) {
			return c
		}
	}
	return def
}

// slug turns a name into an id part: lower-case letters and digits joined by
// single dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	if b.Len() == 0 {
		return "unnamed"
	}
	return b.String()
}

// grouped collects imported vendors keyed by (name, category), giving each
// an id of prefix-slug(name), with "." and the category appended when one
// name appears with several categories.
type grouped struct {
	prefix string
	opt    Options
	order  []groupKey
	by     map[groupKey]*config.Vendor
	hosts  map[string]bool
	cats   map[string]int
}

type groupKey struct {
	name string
	cat  string
}

func newGrouped(prefix string, opt Options) *grouped {
	if opt.ID != "" {
		prefix = opt.ID
	}
	return &grouped{prefix: prefix, opt: opt, by: make(map[groupKey]*config.Vendor), hosts: make(map[string]bool), cats: make(map[string]int)}
}

func (g *grouped) vendor(name string, c string) *config.Vendor {
	k := groupKey{name, c}
	v, ok := g.by[k]
	if !ok {
		v = newVendor("", name, c, g.opt)
		g.by[k] = v
		g.order = append(g.order, k)
		g.cats[name]++
	}
	return v
}

// addHost adds a host to the vendor unless the list already gave it.
func (g *grouped) addHost(v *config.Vendor, h string, st *Stats) {
	n, err := urlhost.NormaliseEntry(h)
	if err != nil {
		st.Ignored++
		return
	}
	if g.hosts[n] {
		return
	}
	g.hosts[n] = true
	v.Hosts = append(v.Hosts, n)
	st.Hosts++
}

func (g *grouped) vendors(st *Stats) []*config.Vendor {
	out := make([]*config.Vendor, 0, len(g.order))
	ids := make(map[string]bool)
	for _, k := range g.order {
		v := g.by[k]
		if len(v.Hosts) == 0 && len(v.Cookies) == 0 && len(v.CookiePrefixes) == 0 {
			continue
		}
		id := g.prefix + "-" + slug(k.name)
		if g.cats[k.name] > 1 {
			// A dot cannot occur in a slug, so "google.analytics" never
			// collides with the platform "Google Analytics".
			id += "." + k.cat
		}
		if ids[id] {
			st.Duplicates++
			continue
		}
		ids[id] = true
		v.ID = id
		out = append(out, v)
	}
	st.Vendors = len(out)
	return out
}
