package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/rules/matcher"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// Defaults of a site's policy.
const (
	DefaultPrefix       = "/.consentgate/"
	DefaultOptOutCookie = "consentgate_optout"
	// MirrorCookie is the consent mirror's cookie (signals.MirrorCookie);
	// no site's opt-out cookie may take its name.
	MirrorCookie          = "consentgate_mirror"
	DefaultOptOutValue    = "1"
	DefaultUpstreamTimout = 30 * time.Second
)

// Site is the compiled policy of one site. It is immutable and shared by every
// request for the site.
type Site struct {
	// Name is the site's name from config ("default" without one); it is a
	// metrics label.
	Name     string
	Hosts    []string
	Upstream *url.URL
	// OptOutCookie and OptOutValue are the site's own opt-out cookie.
	OptOutCookie string
	OptOutValue  string
	// Deny is what an opt-out denies.
	Deny Categories
	// Actions is what the rewriter does per category.
	Actions [NumCategories]Action
	// DNT makes DNT: 1 an opt-out.
	DNT bool
	// CountryHeader names a trusted request header with the visitor's
	// ISO 3166 country code; empty means not used.
	CountryHeader string
	GeoIPDatabase string
	StateHeader   string // trusted header with the visitor's US state ("US-TX"); empty: not used
	// OptInCountries are the countries in opt-in mode (upper-case codes).
	OptInCountries map[string]bool
	Shadow         bool
	// Prefix of the built-in paths, with leading and trailing slash.
	Prefix string
	// OneTrustGroups maps OneTrust group ids to categories.
	OneTrustGroups map[string]Category
	TCFVendors     []int
	// Account is the site's account key for the shared registry; nil
	// without one.
	Account *Account
	// KeepScripts are the inline scripts the rewriter always keeps.
	KeepScripts KeepScripts
	// Guard is how the runtime guard is served to opted-out visitors.
	Guard GuardMode
	// DecisionHeader adds Consentgate-Decision to every proxied response.
	DecisionHeader bool
	// Propagate tells the vendors that stay on an opted-out visitor's page
	// in their own terms: usprivacy, __gpp and __gpp_sid cookies and
	// __uspapi and __gpp stubs in the head script (docs/signals.md).
	Propagate bool
	// Mirror serves the consent mirror, which records a choice made in a
	// JavaScript-only consent tool in the consentgate_mirror cookie, on
	// every HTML page of the site, for every visitor (docs/signals.md);
	// the edge reads that cookie only on such sites.
	Mirror bool
	// Canary is the site's canary, or nil.
	Canary *Canary
	// Declared is the site's published cookie table, or nil.
	Declared *Declaration
	// Placeholders: a removed embed leaves a placeholder; its text and
	// button label when the site gives its own ("" for the default). See
	// SiteConfig.
	Placeholders      bool
	PlaceholderText   string
	PlaceholderButton string
	// OptOutConfirmation: the opt-out endpoint answers with a confirmation
	// page (else 303 back); OptOutText replaces its first paragraph.
	OptOutConfirmation bool
	OptOutText         string
	// GPCNotice: visitors opted out by Global Privacy Control see a small
	// notice; GPCNoticeText replaces its text.
	GPCNotice     bool
	GPCNoticeText string

	// index is the site's position in the Set.
	index      int
	allow      []bool              // by vendor index
	category   []Category          // by vendor index; nil when the site declares none (vendor_categories)
	firstParty map[string]struct{} // host suffixes: the site's own hosts and first_party
}

// Index is the site's position in Set.Sites.
func (s *Site) Index() int { return s.index }

// Set is a compiled, immutable rule set: the catalogue, the sites and the
// matchers built from them. It is safe for concurrent use; a reload builds a
// new Set and swaps a pointer (see Holder).
//
// Host, site and cookie lookups are answered from tables built at compile
// time, without allocation and without a cache: a suffix-map walk costs less
// than a cache hit would.
type Set struct {
	vendors  []*Vendor
	sites    []*Site
	hosts    map[string]*Vendor // host suffix → vendor
	hostBits *hostFilter        // prefilter of hosts
	cookies  map[string]*Vendor // exact cookie name → vendor
	prefixes prefixTable
	sigs     *Matcher
	byID     map[string]*Vendor

	siteExact map[string]*Site
	siteWild  map[string]*Site // "*.example.com" as "example.com"
	siteAny   *Site

	imports  []ImportStats
	warnings []Problem
	version  string
	loadedAt time.Time
	cfg      *Config
	closed   atomic.Bool
	id       uint64 // distinguishes this set's entries in the shared lookup caches

	// Front tables of the lookup caches (cache.go).
	siteFront front[Site]
	hostFront front[Vendor]
}

// Compile validates cfg and builds a Set from it, the built-in catalogue and
// the lists cfg imports. Every problem is reported at once in a
// *ConfigError, each with its line and field path.
func Compile(cfg *Config) (*Set, error) {
	cat, err := Catalogue()
	if err != nil {
		return nil, err
	}
	return compile(cfg, cat, cfg.readImports())
}

// compile builds a Set; imported holds the import files by resolved path
// (a missing one is read when needed).
func compile(cfg *Config, catalogue []*Vendor, imported map[string][]byte) (*Set, error) {
	ce := &ConfigError{File: cfg.file}
	add := func(field, format string, args ...any) {
		ce.Problems = append(ce.Problems, Problem{Line: cfg.lines.line(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	s := &Set{
		hosts:     make(map[string]*Vendor),
		hostBits:  new(hostFilter),
		cookies:   make(map[string]*Vendor),
		siteExact: make(map[string]*Site),
		siteWild:  make(map[string]*Site),
		byID:      make(map[string]*Vendor, len(catalogue)+len(cfg.Vendors)),
		loadedAt:  time.Now(),
		id:        setIDs.Add(1),
		cfg:       cfg,
		siteFront: newFront[Site](siteFrontSlots),
		hostFront: newFront[Vendor](hostFrontSlots),
	}
	hostField := make(map[string]string) // host → field that claimed it, for config vendors
	for _, v := range catalogue {
		v.index = len(s.vendors)
		s.byID[v.ID] = v
		s.vendors = append(s.vendors, v)
		for _, h := range v.Hosts {
			hostField[h] = "vendor " + v.ID
		}
	}
	cfgIDs := make(map[string]bool)
	for i, v := range cfg.Vendors {
		field := fmt.Sprintf("vendors[%d]", i)
		if v == nil {
			add(field, "empty vendor entry")
			continue
		}
		probs := v.check()
		for _, p := range probs {
			add(field+p.Field, "%s", p.Msg)
		}
		if len(probs) > 0 {
			continue
		}
		if cfgIDs[v.ID] {
			add(field+".id", "vendor %q is listed twice", v.ID)
			continue
		}
		cfgIDs[v.ID] = true
		if old, ok := s.byID[v.ID]; ok {
			// Replace the catalogue entry, keep its position and free its hosts.
			for _, h := range old.Hosts {
				delete(hostField, h)
			}
			v.index = old.index
			s.vendors[old.index] = v
		} else {
			v.index = len(s.vendors)
			s.vendors = append(s.vendors, v)
		}
		s.byID[v.ID] = v
		for j, h := range v.Hosts {
			if owner, ok := hostField[h]; ok {
				add(fmt.Sprintf("%s.hosts[%d]", field, j), "host %q already belongs to %s; give that vendor's id to replace it", h, owner)
				continue
			}
			hostField[h] = field
		}
	}
	firstImport := len(s.vendors)
	// The hosts of the catalogue and config vendors: an import never takes
	// one of them, nor a subdomain of one (keepCurated).
	curatedHosts := make(map[string]*Vendor)
	for _, v := range s.vendors {
		for _, h := range v.Hosts {
			if _, ok := curatedHosts[h]; !ok {
				curatedHosts[h] = v
			}
		}
	}
	for i, ic := range cfg.Imports {
		field := fmt.Sprintf("imports[%d]", i)
		vs, st, probs := loadImport(cfg, ic, imported)
		for _, p := range probs {
			add(field+p.Field, "%s", p.Msg)
		}
		vs = keepCurated(vs, curatedHosts, &st)
		if w := conflictWarning(st); w != "" {
			s.warnings = append(s.warnings, Problem{Line: cfg.lines.line(field), Field: field, Msg: w})
		}
		for _, v := range vs {
			if _, dup := s.byID[v.ID]; dup {
				st.Duplicates++
				continue
			}
			v.index = len(s.vendors)
			s.byID[v.ID] = v
			s.vendors = append(s.vendors, v)
		}
		s.imports = append(s.imports, st)
	}
	// Tables: the first vendor to name a host or cookie keeps it, so the
	// catalogue and config vendors win over imports. An imported cookie or
	// prefix that a curated vendor's prefix already covers is dropped too:
	// otherwise an imported exact "_ga" would beat the catalogue's "_ga"
	// prefix.
	var curated, prefixes []cookiePrefix
	for _, v := range s.vendors[:firstImport] {
		for _, p := range v.CookiePrefixes {
			curated = append(curated, cookiePrefix{p, v})
		}
	}
	curatedTable := newPrefixTable(slices.Clone(curated))
	for _, v := range s.vendors {
		imported := v.index >= firstImport
		for _, h := range v.Hosts {
			if _, ok := s.hosts[h]; !ok {
				s.hosts[h] = v
				s.hostBits.add(h)
			}
		}
		for _, c := range v.Cookies {
			if imported && curatedTable.lookup([]byte(c)) != nil {
				continue
			}
			if _, ok := s.cookies[c]; !ok {
				s.cookies[c] = v
			}
		}
		if !imported {
			continue
		}
		for _, p := range v.CookiePrefixes {
			if _, exact := s.cookies[p]; curatedTable.lookup([]byte(p)) == nil && !exact {
				prefixes = append(prefixes, cookiePrefix{p, v})
			}
		}
	}
	s.prefixes = newPrefixTable(append(curated, prefixes...))
	s.sigs = NewMatcher(s.vendors)

	for _, f := range []struct{ name, addr string }{{"listen", cfg.Listen}, {"admin", cfg.Admin}} {
		if f.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(f.addr); err != nil || port == "" {
			add(f.name, "%q is not a listen address: write host:port such as 127.0.0.1:8080 or :8080", f.addr)
		}
	}
	if cfg.Registry != nil {
		cfg.Registry.validate(add)
	}
	if cfg.Listen != "" && cfg.Listen == cfg.Admin {
		add("admin", "%q is also the listen address; the admin endpoints need their own port", cfg.Admin)
	}

	sites := cfg.Sites
	if len(sites) == 0 {
		sites = []SiteConfig{{Name: "default", Hosts: []string{"*"}}}
	}
	// The top-level account key is compiled once; its problems are
	// reported once, under account.
	var defAccount *Account
	if cfg.Account != nil {
		var probs []Problem
		defAccount, probs = compileAccount(cfg.Account, cfg.dir)
		for _, p := range probs {
			add(strings.TrimPrefix(p.Field, "."), "%s", p.Msg)
		}
	}
	siteNames := make(map[string]string)
	for i, sc := range sites {
		field := fmt.Sprintf("sites[%d]", i)
		site, probs, warns := compileSite(sc, cfg.Upstream, s.byID, len(s.vendors))
		if site != nil && sc.Account == nil {
			site.Account = defAccount
		} else if sc.Account != nil {
			acct, aprobs := compileAccount(sc.Account.merge(cfg.Account), cfg.dir)
			probs = append(probs, aprobs...)
			if site != nil && len(aprobs) > 0 {
				site = nil
			} else if site != nil {
				site.Account = acct
			}
		}
		probs = append(probs, compileEvidence(cfg, sc, site, s.byID)...)
		for _, p := range probs {
			add(field+p.Field, "%s", p.Msg)
		}
		for _, p := range warns {
			p.Field = field + p.Field
			p.Line = cfg.lines.line(p.Field)
			s.warnings = append(s.warnings, p)
		}
		if prev, dup := siteNames[sc.Name]; dup && sc.Name != "" {
			add(field+".name", "site name %q is already used by %s; names label metrics and must be unique", sc.Name, prev)
		}
		siteNames[sc.Name] = field
		if site == nil {
			continue
		}
		site.index = len(s.sites)
		s.sites = append(s.sites, site)
		for j, h := range site.Hosts {
			hf := fmt.Sprintf("%s.hosts[%d]", field, j)
			switch {
			case h == "*":
				if s.siteAny != nil {
					add(hf, "\"*\" is already the catch-all of site %q", s.siteAny.Name)
				}
				s.siteAny = site
			case strings.HasPrefix(h, "*."):
				if other, dup := s.siteWild[h[2:]]; dup {
					add(hf, "host %q belongs to two sites (%q and %q)", h, other.Name, site.Name)
				}
				s.siteWild[h[2:]] = site
			default:
				if other, dup := s.siteExact[h]; dup {
					add(hf, "host %q belongs to two sites (%q and %q)", h, other.Name, site.Name)
				}
				s.siteExact[h] = site
			}
		}
	}
	sort.SliceStable(s.warnings, func(i, j int) bool { return s.warnings[i].Line < s.warnings[j].Line })
	probs := compileReceipts(cfg.Receipts)
	for _, p := range probs {
		add("receipts"+p.Field, "%s", p.Msg)
	}
	if len(ce.Problems) > 0 {
		sort.SliceStable(ce.Problems, func(i, j int) bool { return ce.Problems[i].Line < ce.Problems[j].Line })
		return nil, ce
	}
	s.version = s.hash(catalogueYAML, imported)
	return s, nil
}

// compileSite compiles one site. It returns the site, or nil and the
// problems that make it invalid, and warnings about a valid site.
func compileSite(sc SiteConfig, defUp string, byID map[string]*Vendor, nv int) (*Site, []Problem, []Problem) {
	var probs, warns []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	site := &Site{
		Name:               sc.Name,
		Placeholders:       sc.Placeholders,
		PlaceholderText:    sc.PlaceholderText,
		PlaceholderButton:  sc.PlaceholderButton,
		OptOutConfirmation: sc.OptOutConfirmation == nil || *sc.OptOutConfirmation,
		OptOutText:         sc.OptOutText,
		GPCNotice:          sc.GPCNotice,
		GPCNoticeText:      sc.GPCNoticeText,
		OptOutCookie:       DefaultOptOutCookie,
		OptOutValue:        DefaultOptOutValue,
		Deny:               DefaultDeny,
		DNT:                sc.DNT,
		Shadow:             sc.Shadow,
		Propagate:          sc.Propagate,
		Mirror:             sc.Mirror,
		Prefix:             DefaultPrefix,
		TCFVendors:         sc.TCFVendors,
		allow:              make([]bool, nv),
		firstParty:         make(map[string]struct{}),
	}
	if site.Name == "" {
		bad(".name", "every site needs a name (it labels metrics)")
	}
	if len(sc.Hosts) == 0 {
		bad(".hosts", "list at least one host (or \"*\" for every host)")
	}
	for j, h := range sc.Hosts {
		if h == "*" {
			site.Hosts = append(site.Hosts, h)
			continue
		}
		wild := strings.HasPrefix(h, "*.")
		rest := strings.TrimPrefix(h, "*.")
		n, err := urlhost.Normalise(rest)
		if strings.Contains(rest, "*") {
			err = fmt.Errorf("%q: a wildcard must be the whole first label, as in *.example.com", h)
		}
		if err != nil {
			bad(fmt.Sprintf(".hosts[%d]", j), "%v", err)
			continue
		}
		site.firstParty[n] = struct{}{}
		if wild {
			n = "*." + n
		}
		site.Hosts = append(site.Hosts, n)
	}
	up := sc.Upstream
	if up == "" {
		up = defUp
	}
	if err := CheckUpstream(up); err != nil {
		bad(".upstream", "%v", err)
	} else {
		site.Upstream, _ = url.Parse(up)
	}
	if sc.OptOutCookie != nil {
		if !validCookieName(sc.OptOutCookie.Name) {
			bad(".optout_cookie.name", "%q is not a valid cookie name", sc.OptOutCookie.Name)
		}
		if strings.ContainsAny(sc.OptOutCookie.Value, "; ,\t\r\n\"\\") {
			bad(".optout_cookie.value", "%q is not a valid cookie value", sc.OptOutCookie.Value)
		}
		if sc.OptOutCookie.Name == MirrorCookie {
			bad(".optout_cookie.name", "%q is the consent mirror's cookie; choose another name", MirrorCookie)
		}
		site.OptOutCookie, site.OptOutValue = sc.OptOutCookie.Name, sc.OptOutCookie.Value
		if site.OptOutValue == "" {
			site.OptOutValue = DefaultOptOutValue
		}
	}
	if sc.Deny != nil {
		site.Deny = 0
		for j, d := range sc.Deny {
			c, err := ParseCategory(d)
			if err != nil {
				bad(fmt.Sprintf(".deny[%d]", j), "%v", err)
				continue
			}
			site.Deny |= Of(c)
		}
	}
	for _, k := range sortedKeys(sc.Actions) {
		c, err := ParseCategory(k)
		if err != nil {
			bad(".actions."+k, "%v", err)
			continue
		}
		a, err := ParseAction(sc.Actions[k])
		if err != nil {
			bad(".actions."+k, "%v", err)
			continue
		}
		site.Actions[c] = a
	}
	for j, id := range sc.AllowVendors {
		v, ok := byID[id]
		if !ok {
			bad(fmt.Sprintf(".allow_vendors[%d]", j), "no vendor with id %q (%s)", id, vendorHint(id, byID))
			continue
		}
		site.allow[v.index] = true
	}
	for j, h := range sc.FirstParty {
		n, err := urlhost.Normalise(h)
		if err != nil {
			bad(fmt.Sprintf(".first_party[%d]", j), "%v", err)
			continue
		}
		site.firstParty[n] = struct{}{}
	}
	if sc.Prefix != "" {
		if !strings.HasPrefix(sc.Prefix, "/") || strings.ContainsAny(sc.Prefix, "?# \t") || len(sc.Prefix) < 2 {
			bad(".prefix", "%q must be a path such as /.consentgate/", sc.Prefix)
		} else {
			site.Prefix = strings.TrimSuffix(sc.Prefix, "/") + "/"
		}
	}
	site.OptInCountries = defaultOptIn()
	if r := sc.Region; r != nil {
		site.CountryHeader = r.CountryHeader
		site.GeoIPDatabase = r.GeoIPDatabase
		if r.CountryHeader != "" && !validCookieName(r.CountryHeader) {
			bad(".region.country_header", "%q is not a header name", r.CountryHeader)
		}
		site.StateHeader = r.StateHeader
		if r.StateHeader != "" && !validCookieName(r.StateHeader) {
			bad(".region.state_header", "%q is not a header name", r.StateHeader)
		}
		if r.OptInCountries != nil {
			site.OptInCountries = make(map[string]bool)
			for j, c := range r.OptInCountries {
				if len(c) != 2 || !isLetters(c) {
					bad(fmt.Sprintf(".region.optin_countries[%d]", j), "%q is not a two-letter country code", c)
				}
				site.OptInCountries[strings.ToUpper(c)] = true
			}
		}
	}
	site.OneTrustGroups = map[string]Category{"C0001": Necessary, "C0002": Analytics, "C0003": Functional, "C0004": Advertising, "C0005": Social}
	if sc.OneTrustGroups != nil {
		site.OneTrustGroups = make(map[string]Category)
		for _, g := range sortedKeys(sc.OneTrustGroups) {
			c, err := ParseCategory(sc.OneTrustGroups[g])
			if err != nil {
				bad(".onetrust_groups."+g, "%v", err)
				continue
			}
			site.OneTrustGroups[g] = c
		}
	}
	for _, t := range []struct {
		field, text string
		max         int
		fields      []string
	}{
		{".placeholder_text", sc.PlaceholderText, 600, []string{"name", "company", "kind"}},
		{".placeholder_button", sc.PlaceholderButton, 80, []string{"name", "kind"}},
		{".optout_text", sc.OptOutText, 2000, nil},
		{".gpc_notice_text", sc.GPCNoticeText, 200, nil},
	} {
		if err := checkText(t.text, t.max, t.fields); err != nil {
			bad(t.field, "%v", err)
		}
	}
	if sc.Guard != "" {
		m, err := ParseGuardMode(sc.Guard)
		if err != nil {
			bad(".guard", "%v", err)
		}
		site.Guard = m
	}
	for j, id := range sc.TCFVendors {
		if id <= 0 {
			bad(fmt.Sprintf(".tcf_vendors[%d]", j), "%d is not a TCF vendor id (a positive number)", id)
		}
	}
	for _, id := range sortedKeys(sc.VendorCategories) {
		field := ".vendor_categories." + id
		v, ok := byID[id]
		if !ok {
			bad(field, "no vendor with id %q (%s)", id, vendorHint(id, byID))
			continue
		}
		c, err := ParseCategory(sc.VendorCategories[id])
		if err != nil {
			bad(field, "%v", err)
			continue
		}
		if site.category == nil {
			site.category = make([]Category, nv)
			for _, v := range byID {
				site.category[v.index] = v.Category
			}
		}
		site.category[v.index] = c
		if DefaultDeny.Has(v.Category) && !DefaultDeny.Has(c) {
			warns = append(warns, Problem{Field: field, Msg: fmt.Sprintf(
				"the site declares %s (%s), %s in the catalogue, %s: a \"Do Not Sell or Share\" opt-out no longer removes it on this site",
				id, v.Name, v.Category, c)})
		}
	}
	var kp []Problem
	site.KeepScripts, kp = compileKeepScripts(sc.KeepScripts)
	probs = append(probs, kp...)
	if len(probs) > 0 {
		return nil, probs, nil
	}
	return site, nil, warns
}

// vendorHint suggests the vendor id closest to id, or where to look.
func vendorHint(id string, byID map[string]*Vendor) string {
	if c := closest(id, sortedKeys(byID)); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return "see consentgate rules list"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isLetters(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// defaultOptIn is the EU/EEA, the UK and Switzerland.
func defaultOptIn() map[string]bool {
	m := make(map[string]bool)
	for _, c := range strings.Fields("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO GB CH") {
		m[c] = true
	}
	return m
}

// Close marks the set as retired. A Set holds no goroutines or caches, so
// lookups on a closed Set still answer; Close exists so that a Holder can
// retire a set after its grace period, and Closed reports it. It is
// idempotent.
func (s *Set) Close() { s.closed.Store(true) }

// Closed reports whether Close was called.
func (s *Set) Closed() bool { return s.closed.Load() }

// hash identifies the content of the set: the catalogue, the config bytes
// (or the config values when it was built in code) and the imported files.
func (s *Set) hash(catalogue []byte, imported map[string][]byte) string {
	h := sha256.New()
	h.Write(catalogue)
	if s.cfg.raw != nil {
		h.Write(s.cfg.raw)
	} else {
		fmt.Fprintf(h, "%q|%q|%q|%d\n", s.cfg.Listen, s.cfg.Admin, s.cfg.Upstream, s.cfg.UpstreamTimeout)
		for _, v := range s.cfg.Vendors {
			fmt.Fprintf(h, "%+v\n", *v)
		}
		for _, sc := range s.cfg.Sites {
			fmt.Fprintf(h, "%+v\n", sc)
		}
	}
	for _, ic := range s.cfg.Imports {
		fmt.Fprintf(h, "%+v\n", ic)
		h.Write(imported[s.cfg.importPath(ic.Path)])
	}
	// Replicas hashing account ids with different secrets disagree on
	// every account's opt-out: a digest of each secret (never the secret)
	// makes their versions differ too.
	for _, site := range s.sites {
		if site.Account != nil {
			d := sha256.Sum256(append([]byte("consentgate account secret\x00"), site.Account.Secret...))
			h.Write(d[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Version identifies the content of the set (a hash of catalogue, config and
// imported lists).
func (s *Set) Version() string { return s.version }

// LoadedAt is when the set was compiled.
func (s *Set) LoadedAt() time.Time { return s.loadedAt }

// Config is the config the set was compiled from. Callers must not change it.
func (s *Set) Config() *Config { return s.cfg }

// Vendors returns the vendors; Vendor.Index is the position. Do not modify.
func (s *Set) Vendors() []*Vendor { return s.vendors }

// List returns every vendor as JSON-friendly data, in Vendors order.
func (s *Set) List() []VendorInfo {
	out := make([]VendorInfo, len(s.vendors))
	for i, v := range s.vendors {
		out[i] = v.Info()
	}
	return out
}

// Warnings are what check reports about a valid config without refusing
// it, each with its line and field path: a site declaring an analytics,
// advertising or social vendor necessary or functional, and imported
// lists that rate hosts of curated vendors otherwise (see ImportStats).
func (s *Set) Warnings() []Problem { return s.warnings }

// Imports reports what each configured import contributed.
func (s *Set) Imports() []ImportStats { return s.imports }

// Sites returns the sites in config order. Do not modify.
func (s *Set) Sites() []*Site { return s.sites }

// CacheMetrics returns the process-wide hit and miss counts of the site and
// host lookups (see CacheMetrics in cache.go).
func (s *Set) CacheMetrics() (siteHits, siteMisses, hostHits, hostMisses uint64) {
	return CacheMetrics()
}

// Site returns the site for a request host (as in the Host header, maybe
// with a port, any case), or nil if no site answers for it. An exact host
// wins over a wildcard, a longer wildcard over a shorter one, and "*" comes
// last. It does not allocate and does not keep host.
func (s *Set) Site(host []byte) *Site {
	return s.cachedSite(host)
}

// lookupSite is Site without the cache.
func (s *Set) lookupSite(host []byte) *Site {
	var buf urlhost.Buf
	h := buf.Canonical(host)
	if h == nil {
		return s.siteAny
	}
	if st, ok := s.siteExact[string(h)]; ok {
		return st
	}
	if len(s.siteWild) > 0 {
		// A wildcard "*.example.com" answers for example.com too.
		for suf, ok := h, bytes.IndexByte(h, '.') >= 0; ok; suf, ok = urlhost.NextSuffix(suf) {
			if st, found := s.siteWild[string(suf)]; found {
				return st
			}
		}
	}
	return s.siteAny
}

// VendorForHost classifies a URL host (any case, maybe with a port or a
// trailing dot): the vendor it belongs to, or nil. The host is matched by
// suffix at label boundaries ("x.doubleclick.net" matches "doubleclick.net");
// the longest listed suffix wins. It does not look at the site (see
// Classify), does not allocate and does not keep host.
func (s *Set) VendorForHost(host []byte) *Vendor {
	var buf urlhost.Buf
	return s.matchHost(buf.Canonical(host))
}

// matchHost looks up a canonical host.
func (s *Set) matchHost(h []byte) *Vendor {
	for suf, ok := h, bytes.IndexByte(h, '.') >= 0; ok; suf, ok = urlhost.NextSuffix(suf) {
		if !s.hostBits.mayHave(suf) {
			continue
		}
		if v, found := s.hosts[string(suf)]; found {
			return v
		}
	}
	return nil
}

// Classify returns the vendor a URL host belongs to on site, or nil when the
// host is not a tracker, is one of the site's own or first-party hosts, or
// its vendor is allowed on the site. site may be nil. It does not allocate.
func (s *Set) Classify(site *Site, host []byte) *Vendor {
	return s.cachedClassify(site, host)
}

// classify is Classify without the cache.
func (s *Set) classify(site *Site, host []byte) *Vendor {
	var buf urlhost.Buf
	h := buf.Canonical(host)
	v := s.matchHost(h)
	if v == nil || site == nil {
		return v
	}
	if site.allow[v.index] || site.isFirstParty(h) {
		return nil
	}
	return v
}

// Allowed reports whether the vendor is on the site's allow-list. A nil
// site allows nothing.
func (site *Site) Allowed(v *Vendor) bool { return v != nil && site != nil && site.allow[v.index] }

// Category is the category of v on site: the one the site declares in
// vendor_categories, else the vendor's own. A nil site or vendor has no
// declarations (and a nil vendor is Necessary). Every decision about v on
// a site (Denied, Action, metrics labels, the consent category written on a
// neutralised element) uses it, never v.Category directly.
func (site *Site) Category(v *Vendor) Category {
	switch {
	case v == nil:
		return Necessary
	case site == nil || site.category == nil:
		return v.Category
	}
	return site.category[v.index]
}

// Action is what the rewriter does with an element of v on site: the
// site's action for Category(v); Remove on a nil site.
func (site *Site) Action(v *Vendor) Action {
	if site == nil {
		return Remove
	}
	return site.Actions[site.Category(v)]
}

// isFirstParty reports whether the canonical host h is, or is under, one of
// the site's own or first-party hosts.
func (site *Site) isFirstParty(h []byte) bool {
	if len(site.firstParty) == 0 {
		return false
	}
	if _, ok := site.firstParty[string(h)]; ok {
		return true // also a single-label host such as localhost
	}
	for suf, ok := urlhost.NextSuffix(h); ok; suf, ok = urlhost.NextSuffix(suf) {
		if _, found := site.firstParty[string(suf)]; found {
			return true
		}
	}
	return false
}

// ClassifyURL classifies a URL or bare host as written in HTML or on the
// command line: absolute, protocol-relative or a host. Relative URLs are
// first-party and return nil.
func (s *Set) ClassifyURL(site *Site, u []byte) *Vendor {
	h := urlhost.Find(u)
	if len(h) == 0 {
		return nil
	}
	return s.Classify(site, h)
}

// CookieVendor returns the vendor that sets a cookie of that name, or nil.
// Exact names win over prefixes, longer prefixes over shorter ones. It does
// not allocate.
func (s *Set) CookieVendor(name []byte) *Vendor {
	if v, ok := s.cookies[string(name)]; ok {
		return v
	}
	return s.prefixes.lookup(name)
}

// Signatures is the matcher for inline-script signatures.
func (s *Set) Signatures() *Matcher { return s.sigs }

// Matcher finds the vendors whose inline-script signatures occur in a text
// (see package rules/matcher); MatchState matches text that arrives in
// chunks.
type (
	Matcher    = matcher.Matcher[*Vendor]
	MatchState = matcher.State[*Vendor]
)

// NewMatcher builds a matcher over the signatures of vendors. Empty
// signatures are ignored.
func NewMatcher(vendors []*Vendor) *Matcher {
	return matcher.New(vendors, func(v *Vendor) []string { return v.Signatures })
}

// VendorByID returns the vendor with that id, or nil.
func (s *Set) VendorByID(id string) *Vendor { return s.byID[id] }

// Denied reports whether v is enforced on site for a visitor denying deny:
// the site's category of v (Category) is denied and the site does not
// allow v. A nil site denies by the vendor's own category.
func (site *Site) Denied(v *Vendor, deny Categories) bool {
	return v != nil && deny.Has(site.Category(v)) && !site.Allowed(v)
}

type cookiePrefix struct {
	prefix string
	v      *Vendor
}

// prefixTable finds the longest cookie prefix of a name: the entries are
// sorted, and each knows its longest proper prefix in the table (parent). The
// longest prefix p of a name, if any, is a prefix of the greatest entry <= the
// name, so it is on that entry's parent chain.
type prefixTable struct {
	entries []cookiePrefix
	parent  []int // index of the longest entry that is a proper prefix, or -1
}

func newPrefixTable(ps []cookiePrefix) prefixTable {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].prefix < ps[j].prefix })
	// Drop duplicates: the first vendor (in catalogue order) keeps a prefix.
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.prefix == out[len(out)-1].prefix {
			continue
		}
		out = append(out, p)
	}
	t := prefixTable{entries: out, parent: make([]int, len(out))}
	for i := range out {
		t.parent[i] = -1
		for j := i - 1; j >= 0; j = t.parent[j] {
			if strings.HasPrefix(out[i].prefix, out[j].prefix) {
				t.parent[i] = j
				break
			}
			if t.parent[j] < 0 {
				break
			}
		}
	}
	return t
}

func (t *prefixTable) lookup(name []byte) *Vendor {
	// Greatest entry <= name.
	lo, hi := 0, len(t.entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.entries[m].prefix <= string(name) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := lo - 1; i >= 0; i = t.parent[i] {
		p := t.entries[i].prefix
		if len(name) >= len(p) && string(name[:len(p)]) == p {
			return t.entries[i].v
		}
	}
	return nil
}
