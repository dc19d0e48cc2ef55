package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/consentgate/consentgate/rules/config"
)

// Compile validates cfg and builds a Set from it, the built-in catalogue and
// the lists cfg imports. Every problem is reported at once in a
// *config.Error, each with its line and field path: those config.Validate
// finds and those only compiling shows (unknown categories and vendor
// ids, hosts claimed twice, files that cannot be read). cfg is not
// changed.
func Compile(cfg *config.Config) (*Set, error) {
	return CompileFiles(cfg, ReadImports(cfg))
}

// CompileFiles is Compile with the files cfg imports already read
// (ReadImports), so that a reload reads each file once: what it hashes is
// what it compiles.
func CompileFiles(cfg *config.Config, imported map[string][]byte) (*Set, error) {
	cat, err := Catalogue()
	if err != nil {
		return nil, err
	}
	return compile(cfg, cat, imported)
}

// compiler is one compilation: the set it builds, the problems found so
// far (config.Validate's first) and what its steps share.
type compiler struct {
	cfg     *config.Config
	s       *Set
	invalid []config.Problem // config.Validate's problems
	probs   []config.Problem
	// hostField is the field or vendor that claimed each host of the
	// catalogue and config vendors.
	hostField   map[string]string
	firstImport int // index of the first imported vendor
}

// compile builds a Set; imported holds the import files by resolved path
// (a missing one is read when needed).
func compile(cfg *config.Config, catalogue []*Vendor, imported map[string][]byte) (*Set, error) {
	c := &compiler{
		cfg: cfg,
		s: &Set{
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
		},
		invalid:   config.Validate(cfg),
		hostField: make(map[string]string),
	}
	c.probs = slices.Clone(c.invalid)
	c.addCatalogue(catalogue)
	c.addConfigVendors()
	c.firstImport = len(c.s.vendors)
	c.addImports(imported)
	c.buildTables()
	c.compileSites()
	s := c.s
	sort.SliceStable(s.warnings, func(i, j int) bool { return s.warnings[i].Line < s.warnings[j].Line })
	if len(c.probs) > 0 {
		sort.SliceStable(c.probs, func(i, j int) bool { return c.probs[i].Line < c.probs[j].Line })
		return nil, &config.Error{File: cfg.File(), Problems: c.probs}
	}
	s.version = s.hash(catalogueYAML, imported)
	return s, nil
}

// add records a problem of field.
func (c *compiler) add(field, format string, args ...any) {
	c.probs = append(c.probs, config.Problem{Line: c.cfg.Line(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// addAll records problems whose fields are relative to field.
func (c *compiler) addAll(field string, probs []config.Problem) {
	for _, p := range probs {
		c.add(field+p.Field, "%s", p.Msg)
	}
}

// valid reports whether config.Validate found no problem in field or a
// part of it: an entry it refused is skipped, its problems already told.
func (c *compiler) valid(field string) bool {
	for _, p := range c.invalid {
		if config.Within(p.Field, field) {
			return false
		}
	}
	return true
}

// addCatalogue adds the built-in vendors.
func (c *compiler) addCatalogue(catalogue []*Vendor) {
	s := c.s
	for _, v := range catalogue {
		v.index = len(s.vendors)
		s.byID[v.ID] = v
		s.vendors = append(s.vendors, v)
		for _, h := range v.Hosts {
			c.hostField[h] = "vendor " + v.ID
		}
	}
}

// addConfigVendors adds the config's vendors: one with a catalogue
// vendor's id replaces it in its place; a host may belong to one vendor.
func (c *compiler) addConfigVendors() {
	s := c.s
	ids := make(map[string]bool)
	for i, cv := range c.cfg.Vendors {
		field := fmt.Sprintf("vendors[%d]", i)
		if cv == nil {
			continue // config.Validate reported it
		}
		v, err := newVendor(cv)
		if err != nil {
			c.add(field+".category", "%v", err)
		}
		if err != nil || !c.valid(field) {
			continue
		}
		if ids[v.ID] {
			c.add(field+".id", "vendor %q is listed twice", v.ID)
			continue
		}
		ids[v.ID] = true
		if old, ok := s.byID[v.ID]; ok {
			// Replace the catalogue entry, keep its position and free its hosts.
			for _, h := range old.Hosts {
				delete(c.hostField, h)
			}
			v.index = old.index
			s.vendors[old.index] = v
		} else {
			v.index = len(s.vendors)
			s.vendors = append(s.vendors, v)
		}
		s.byID[v.ID] = v
		for j, h := range v.Hosts {
			if owner, ok := c.hostField[h]; ok {
				c.add(fmt.Sprintf("%s.hosts[%d]", field, j), "host %q already belongs to %s; give that vendor's id to replace it", h, owner)
				continue
			}
			c.hostField[h] = field
		}
	}
}

// addImports runs the config's imports and adds their vendors after the
// catalogue and config vendors. An import never takes a host of those,
// nor a subdomain of one (keepCurated).
func (c *compiler) addImports(imported map[string][]byte) {
	s := c.s
	curatedHosts := make(map[string]*Vendor)
	for _, v := range s.vendors {
		for _, h := range v.Hosts {
			if _, ok := curatedHosts[h]; !ok {
				curatedHosts[h] = v
			}
		}
	}
	for i, ic := range c.cfg.Imports {
		field := fmt.Sprintf("imports[%d]", i)
		vs, st, probs := c.loadImport(ic, imported, c.valid(field))
		c.addAll(field, probs)
		vs = keepCurated(vs, curatedHosts, &st)
		if w := conflictWarning(st); w != "" {
			s.warnings = append(s.warnings, config.Problem{Line: c.cfg.Line(field), Field: field, Msg: w})
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
}

// buildTables builds the host, cookie and signature tables. The first
// vendor to name a host or cookie keeps it, so the catalogue and config
// vendors win over imports. An imported cookie or prefix that a curated
// vendor's prefix already covers is dropped too: otherwise an imported
// exact "_ga" would beat the catalogue's "_ga" prefix.
func (c *compiler) buildTables() {
	s := c.s
	var curated, prefixes []cookiePrefix
	for _, v := range s.vendors[:c.firstImport] {
		for _, p := range v.CookiePrefixes {
			curated = append(curated, cookiePrefix{p, v})
		}
	}
	curatedTable := newPrefixTable(slices.Clone(curated))
	for _, v := range s.vendors {
		imported := v.index >= c.firstImport
		for _, h := range v.Hosts {
			if _, ok := s.hosts[h]; !ok {
				s.hosts[h] = v
				s.hostBits.add(h)
			}
		}
		for _, ck := range v.Cookies {
			if imported && curatedTable.lookup([]byte(ck)) != nil {
				continue
			}
			if _, ok := s.cookies[ck]; !ok {
				s.cookies[ck] = v
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
}

// compileSites compiles the sites, each with its account key, and the
// table of their hosts.
func (c *compiler) compileSites() {
	s, cfg := c.s, c.cfg
	// The top-level account key is compiled once; its problems are
	// reported once, under account.
	var defAccount *Account
	if cfg.Account != nil {
		var probs []config.Problem
		defAccount, probs = compileAccount(cfg.Account, cfg, c.valid("account"))
		for _, p := range probs {
			c.add(strings.TrimPrefix(p.Field, "."), "%s", p.Msg)
		}
	}
	for i, sc := range cfg.SitesOrDefault() {
		field := fmt.Sprintf("sites[%d]", i)
		site, probs, warns := c.compileSite(sc, c.valid(field))
		if site != nil && sc.Account == nil {
			site.Account = defAccount
		} else if sc.Account != nil {
			acct, aprobs := compileAccount(sc.Account.Merge(cfg.Account), cfg, site != nil)
			probs = append(probs, aprobs...)
			if site != nil && acct == nil {
				site = nil
			} else if site != nil {
				site.Account = acct
			}
		}
		probs = append(probs, c.compileEvidence(sc, site)...)
		c.addAll(field, probs)
		for _, p := range warns {
			p.Field = field + p.Field
			p.Line = cfg.Line(p.Field)
			s.warnings = append(s.warnings, p)
		}
		if site == nil {
			continue
		}
		site.index = len(s.sites)
		s.sites = append(s.sites, site)
		c.addSiteHosts(field, site)
	}
}

// addSiteHosts adds the hosts of a site to the site table; a host may
// belong to one site.
func (c *compiler) addSiteHosts(field string, site *Site) {
	s := c.s
	for j, h := range site.Hosts {
		hf := fmt.Sprintf("%s.hosts[%d]", field, j)
		switch {
		case h == "*":
			if s.siteAny != nil {
				c.add(hf, "\"*\" is already the catch-all of site %q", s.siteAny.Name)
			}
			s.siteAny = site
		case strings.HasPrefix(h, "*."):
			if other, dup := s.siteWild[h[2:]]; dup {
				c.add(hf, "host %q belongs to two sites (%q and %q)", h, other.Name, site.Name)
			}
			s.siteWild[h[2:]] = site
		default:
			if other, dup := s.siteExact[h]; dup {
				c.add(hf, "host %q belongs to two sites (%q and %q)", h, other.Name, site.Name)
			}
			s.siteExact[h] = site
		}
	}
}

// hash identifies the content of the set: the catalogue, the config bytes
// (or the config values when it was built in code) and the imported files.
func (s *Set) hash(catalogue []byte, imported map[string][]byte) string {
	h := sha256.New()
	h.Write(catalogue)
	if raw := s.cfg.Bytes(); raw != nil {
		h.Write(raw)
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
		h.Write(imported[s.cfg.Path(ic.Path)])
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
