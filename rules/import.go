package rules

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// maxImportSize bounds an imported file; larger files are refused.
const maxImportSize = 64 << 20

// ImportOptions says how an imported list becomes vendors.
type ImportOptions struct {
	// ID is the vendor id of an ABP list, or the id prefix of the vendors
	// of the other formats; empty means the format's default.
	ID string
	// Category, when not empty, overrides the list's own categories. ABP
	// lists default to advertising.
	Category string
	// Licence is copied to every vendor, so "rules list" shows it.
	Licence string
	// Source is copied to every vendor (for example the file's URL or path).
	Source string
}

// ImportStats says what one import contributed.
type ImportStats struct {
	Format string `json:"format"`
	Path   string `json:"path"`
	// Vendors, Hosts and Cookies are what the list became.
	Vendors int `json:"vendors"`
	Hosts   int `json:"hosts"`
	Cookies int `json:"cookies"`
	// Ignored counts entries the format allows but consentgate cannot
	// express (path rules, exceptions, cosmetic filters, unknown categories).
	Ignored int `json:"ignored"`
	// Duplicates counts vendors dropped because their id was taken.
	Duplicates int `json:"duplicates"`
	// Covered counts hosts of the list that a catalogue or config vendor
	// already covers (the host itself or a parent domain of it): they were
	// dropped from the list's vendors and keep the curated vendor and its
	// category. Hosts and Vendors do not count them.
	Covered int `json:"covered"`
	// Conflicts are the covered hosts the list gives another category than
	// the curated vendor does, in list order.
	Conflicts []ImportConflict `json:"conflicts,omitempty"`
}

// ImportConflict is a host an imported list names under a curated vendor's
// host with another category. The curated vendor keeps it.
type ImportConflict struct {
	Host string `json:"host"`
	// Listed is the category the list gives the host.
	Listed string `json:"listed"`
	// Vendor and Category are the curated vendor that keeps the host.
	Vendor   string `json:"vendor"`
	Category string `json:"category"`
	// Stricter is true when the list's category is denied in more
	// situations than the curated one (see Category.Stricter).
	Stricter bool `json:"stricter"`
}

// ReadImports reads every import file of cfg, by resolved path
// (config.Config.Path). Files that cannot be read are left out; Compile
// reports them.
func ReadImports(cfg *config.Config) map[string][]byte {
	m := make(map[string][]byte, len(cfg.Imports))
	for _, ic := range cfg.Imports {
		p := cfg.Path(ic.Path)
		if data, err := readLimited(p); err == nil {
			m[p] = data
		}
	}
	return m
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImportSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxImportSize>>20)
	}
	return data, nil
}

// loadImport runs the importer of one import entry: valid is whether
// config.Validate found the entry valid; its category is checked here.
// imported holds files already read (by resolved path); a missing entry is
// read now.
func (c *compiler) loadImport(ic config.Import, imported map[string][]byte, valid bool) ([]*Vendor, ImportStats, []config.Problem) {
	var probs []config.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, config.Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	st := ImportStats{Format: ic.Format, Path: ic.Path}
	if ic.Category != "" {
		if _, err := ParseCategory(ic.Category); err != nil {
			bad(".category", "%v", err)
		}
	}
	if len(probs) > 0 || !valid {
		return nil, st, probs
	}
	p := c.cfg.Path(ic.Path)
	data, ok := imported[p]
	if !ok {
		var err error
		if data, err = readLimited(p); err != nil {
			bad(".path", "cannot read %s: %v", p, errors.Unwrap(err))
			return nil, st, probs
		}
	}
	vs, st2, err := importers[ic.Format](bytes.NewReader(data), ImportOptions{ID: ic.ID, Category: ic.Category, Licence: ic.Licence, Source: ic.Path})
	st2.Format, st2.Path = ic.Format, ic.Path
	if err != nil {
		bad(".path", "cannot import %s as %s: %v", p, ic.Format, err)
		return nil, st2, probs
	}
	return vs, st2, nil
}

// keepCurated removes from the imported vendors vs every host that a
// curated vendor (the catalogue and config vendors, in curated by host)
// covers: the host itself or a parent domain of it. Host matching takes the
// longest listed suffix, so without this a list naming "static.chartbeat.com"
// as functional would take that host from the catalogue's analytics vendor
// for chartbeat.com. A curated vendor's category is never changed by a list,
// in either direction: a weaker category un-blocks a tracker, and a stricter
// one breaks what the catalogue keeps on purpose (Disconnect rates
// stripe.network and intercom.io advertising); a site that wants a vendor
// denied says so with vendor_categories. Hosts that no curated vendor
// covers, cookies and the vendors themselves are kept; a vendor left with
// nothing to match is dropped. Each dropped host is counted in st, and those
// with another category are listed in st.Conflicts.
func keepCurated(vs []*Vendor, curated map[string]*Vendor, st *ImportStats) []*Vendor {
	out := vs[:0]
	for _, v := range vs {
		hosts := v.Hosts[:0]
		for _, h := range v.Hosts {
			cv := coveringVendor(curated, h)
			if cv == nil {
				hosts = append(hosts, h)
				continue
			}
			st.Covered++
			st.Hosts--
			if cv.Category != v.Category {
				st.Conflicts = append(st.Conflicts, ImportConflict{
					Host: h, Listed: v.Category.String(), Vendor: cv.ID, Category: cv.Category.String(),
					Stricter: v.Category.Stricter(cv.Category),
				})
			}
		}
		v.Hosts = hosts
		if len(v.Hosts) == 0 && len(v.Cookies) == 0 && len(v.CookiePrefixes) == 0 {
			st.Vendors--
			continue
		}
		out = append(out, v)
	}
	return out
}

// conflictWarning summarises st.Conflicts for check, or returns "".
func conflictWarning(st ImportStats) string {
	if len(st.Conflicts) == 0 {
		return ""
	}
	var weaker, stricter []string
	for _, c := range st.Conflicts {
		ex := fmt.Sprintf("%s %s (%s: %s)", c.Host, c.Listed, c.Vendor, c.Category)
		if c.Stricter {
			stricter = append(stricter, ex)
		} else {
			weaker = append(weaker, ex)
		}
	}
	some := func(l []string) string {
		const n = 3
		if len(l) <= n {
			return strings.Join(l, ", ")
		}
		return strings.Join(l[:n], ", ") + fmt.Sprintf(" and %d more", len(l)-n)
	}
	msg := fmt.Sprintf("%d hosts of the list lie under catalogue vendors' hosts and keep the catalogue's vendor and category", st.Covered)
	if len(weaker) > 0 {
		msg += fmt.Sprintf("; the list rates %d of them otherwise, not stricter: %s", len(weaker), some(weaker))
	}
	if len(stricter) > 0 {
		msg += fmt.Sprintf("; it rates %d stricter, ignored too: %s (to deny such a vendor on a site, set its category in the site's vendor_categories)", len(stricter), some(stricter))
	}
	return msg
}

// coveringVendor returns the vendor in byHost that lists h or a parent
// domain of h, the longest such entry first, or nil.
func coveringVendor(byHost map[string]*Vendor, h string) *Vendor {
	for p := h; ; {
		if v, ok := byHost[p]; ok {
			return v
		}
		i := strings.IndexByte(p, '.')
		if i < 0 {
			return nil
		}
		p = p[i+1:]
	}
}

var importers = map[string]func(io.Reader, ImportOptions) ([]*Vendor, ImportStats, error){
	config.FormatABP:        ImportABP,
	config.FormatDisconnect: ImportDisconnect,
	config.FormatTDS:        ImportTDS,
	config.FormatOCD:        ImportOpenCookieDatabase,
}

// newImported returns an imported vendor with its category resolved.
func newImported(id, name string, c Category, opt ImportOptions) *Vendor {
	return &Vendor{Vendor: config.Vendor{ID: id, Name: name, CategoryName: c.String(), Source: opt.Source, Licence: opt.Licence}, Category: c}
}

// overrideCategory returns the category of opt, or def.
func overrideCategory(opt ImportOptions, def Category) Category {
	if c, err := ParseCategory(opt.Category); err == nil && opt.Category != "" {
		return c
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
	opt    ImportOptions
	order  []groupKey
	by     map[groupKey]*Vendor
	hosts  map[string]bool
	cats   map[string]int
}

type groupKey struct {
	name string
	cat  Category
}

func newGrouped(prefix string, opt ImportOptions) *grouped {
	if opt.ID != "" {
		prefix = opt.ID
	}
	return &grouped{prefix: prefix, opt: opt, by: make(map[groupKey]*Vendor), hosts: make(map[string]bool), cats: make(map[string]int)}
}

func (g *grouped) vendor(name string, c Category) *Vendor {
	k := groupKey{name, c}
	v, ok := g.by[k]
	if !ok {
		v = newImported("", name, c, g.opt)
		g.by[k] = v
		g.order = append(g.order, k)
		g.cats[name]++
	}
	return v
}

// addHost adds a host to the vendor unless the list already gave it.
func (g *grouped) addHost(v *Vendor, h string, st *ImportStats) {
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

func (g *grouped) vendors(st *ImportStats) []*Vendor {
	out := make([]*Vendor, 0, len(g.order))
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
			id += "." + k.cat.String()
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

// ImportABP reads Adblock Plus style host rules and returns one vendor with
// every host. Only "||host^" rules, optionally with the "$third-party" (or
// "$3p") option, are taken; comments are skipped, and every other rule
// (paths, wildcards, exceptions, cosmetic filters, other options) is counted
// in ImportStats.Ignored. The vendor id is opt.ID (default "abp"); the
// category defaults to advertising.
func ImportABP(r io.Reader, opt ImportOptions) ([]*Vendor, ImportStats, error) {
	var st ImportStats
	id := opt.ID
	if id == "" {
		id = "abp"
	}
	v := newImported(id, id, overrideCategory(opt, Advertising), opt)
	seen := make(map[string]bool)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '!' || line[0] == '[' || line[0] == '#' {
			continue
		}
		host, ok := abpHost(line)
		if !ok {
			st.Ignored++
			continue
		}
		n, err := urlhost.NormaliseEntry(host)
		if err != nil {
			st.Ignored++
			continue
		}
		if !seen[n] {
			seen[n] = true
			v.Hosts = append(v.Hosts, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, st, err
	}
	st.Hosts = len(v.Hosts)
	if len(v.Hosts) == 0 {
		return nil, st, nil
	}
	st.Vendors = 1
	return []*Vendor{v}, st, nil
}

// abpHost returns the host of a "||host^" or "||host^$third-party" rule.
func abpHost(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "||")
	if !ok {
		return "", false
	}
	host, opts, ok := strings.Cut(rest, "^")
	if !ok || host == "" || strings.ContainsAny(host, "/*|:") {
		return "", false
	}
	switch opts {
	case "", "|", "$third-party", "$3p":
		return host, true
	}
	return "", false
}

// disconnectCategories maps Disconnect's categories to ours; others are
// ignored.
var disconnectCategories = map[string]Category{
	"Advertising":            Advertising,
	"Analytics":              Analytics,
	"Social":                 Social,
	"Content":                Functional,
	"Disconnect":             Advertising,
	"Email":                  Advertising,
	"EmailAggressive":        Advertising,
	"FingerprintingGeneral":  Advertising,
	"FingerprintingInvasive": Advertising,
	"Cryptomining":           Advertising,
}

// ImportDisconnect reads a Disconnect tracking protection services.json:
// {"categories": {"Advertising": [{"Entity": {"https://home/": ["host", ...]}}]}}.
// Each entity and category becomes a vendor with id "disconnect-<entity>"
// (opt.ID replaces the prefix).
func ImportDisconnect(r io.Reader, opt ImportOptions) ([]*Vendor, ImportStats, error) {
	var st ImportStats
	var doc struct {
		Categories map[string][]map[string]map[string]json.RawMessage `json:"categories"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, st, fmt.Errorf("not a services.json: %w", err)
	}
	if doc.Categories == nil {
		return nil, st, errors.New(`not a services.json: no "categories" object`)
	}
	g := newGrouped("disconnect", opt)
	for _, catName := range sortedKeys(doc.Categories) {
		c, ok := disconnectCategories[catName]
		if !ok {
			st.Ignored += len(doc.Categories[catName])
			continue
		}
		c = overrideCategory(opt, c)
		for _, entity := range doc.Categories[catName] {
			for _, name := range sortedKeys(entity) {
				v := g.vendor(name, c)
				for _, home := range sortedKeys(entity[name]) {
					var hosts []string
					if json.Unmarshal(entity[name][home], &hosts) != nil {
						continue // "performance": "true" and other flags
					}
					for _, h := range hosts {
						g.addHost(v, h, &st)
					}
				}
			}
		}
	}
	return g.vendors(&st), st, nil
}

// tdsCategories maps Tracker Radar categories to ours, strongest first.
var tdsCategories = []struct {
	names []string
	c     Category
}{
	{[]string{"Advertising", "Ad Motivated Tracking", "Action Pixels", "Ad Fraud", "Third-Party Analytics Marketing", "Unknown High Risk Behavior", "Obscure Ownership"}, Advertising},
	{[]string{"Social - Share", "Social - Comment", "Social Network"}, Social},
	{[]string{"Analytics", "Audience Measurement", "Session Replay", "Tag Manager"}, Analytics},
	{[]string{"Embedded Content", "Online Payment", "Federated Login", "SSO", "Support Chat Widget", "Badge"}, Functional},
}

// ImportTDS reads a DuckDuckGo Tracker Radar blocklist (tds.json):
// {"trackers": {"host": {"owner": {"name", "displayName"}, "categories": [...],
// "default": "block"}}}. Trackers DuckDuckGo does not block by default
// ("default": "ignore") and those with no known category are counted as
// ignored. Each owner and category becomes a vendor with id "tds-<owner>".
func ImportTDS(r io.Reader, opt ImportOptions) ([]*Vendor, ImportStats, error) {
	var st ImportStats
	var doc struct {
		Trackers map[string]struct {
			Domain string `json:"domain"`
			Owner  struct {
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"owner"`
			Categories []string `json:"categories"`
			Default    string   `json:"default"`
		} `json:"trackers"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, st, fmt.Errorf("not a tds.json: %w", err)
	}
	if doc.Trackers == nil {
		return nil, st, errors.New(`not a tds.json: no "trackers" object`)
	}
	g := newGrouped("tds", opt)
	for _, host := range sortedKeys(doc.Trackers) {
		t := doc.Trackers[host]
		c, ok := tdsCategory(t.Categories, t.Default)
		if !ok {
			st.Ignored++
			continue
		}
		name := t.Owner.DisplayName
		if name == "" {
			name = t.Owner.Name
		}
		if name == "" {
			name = host
		}
		g.addHost(g.vendor(name, overrideCategory(opt, c)), host, &st)
	}
	return g.vendors(&st), st, nil
}

func tdsCategory(cats []string, def string) (Category, bool) {
	if def == "ignore" {
		return 0, false
	}
	for _, tc := range tdsCategories {
		for _, n := range tc.names {
			for _, c := range cats {
				if c == n {
					return tc.c, true
				}
			}
		}
	}
	if def == "block" {
		return Advertising, true
	}
	return 0, false
}

// ocdCategories maps Open Cookie Database categories to ours.
var ocdCategories = map[string]Category{
	"necessary":       Necessary,
	"security":        Necessary,
	"functional":      Functional,
	"personalization": Functional,
	"preferences":     Functional,
	"analytics":       Analytics,
	"marketing":       Advertising,
}

// ImportOpenCookieDatabase reads the Open Cookie Database CSV (columns ID,
// Platform, Category, Cookie / Data Key name, Domain, Description, Retention
// period, Data Controller, User Privacy & GDPR Rights Portals, Wildcard
// match). Each platform and category becomes a vendor with cookies only,
// id "ocd-<platform>"; a row whose last column is 1 is a prefix. Rows whose
// name is not a cookie name (local-storage keys with spaces) or whose
// category is unknown are counted as ignored.
func ImportOpenCookieDatabase(r io.Reader, opt ImportOptions) ([]*Vendor, ImportStats, error) {
	var st ImportStats
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, st, fmt.Errorf("not an Open Cookie Database CSV: %w", err)
	}
	col := make(map[string]int)
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	need := []string{"platform", "category", "cookie / data key name", "wildcard match"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, st, fmt.Errorf("not an Open Cookie Database CSV: no %q column", n)
		}
	}
	g := newGrouped("ocd", opt)
	seen := make(map[string]bool)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, st, err
		}
		get := func(n string) string {
			if i := col[n]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		c, ok := ocdCategories[strings.ToLower(get("category"))]
		name, platform := get("cookie / data key name"), get("platform")
		if !ok || platform == "" || !config.IsToken(name) {
			st.Ignored++
			continue
		}
		prefix := get("wildcard match") == "1"
		key := name
		if prefix {
			key += "*"
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		v := g.vendor(platform, overrideCategory(opt, c))
		if prefix {
			v.CookiePrefixes = append(v.CookiePrefixes, name)
		} else {
			v.Cookies = append(v.Cookies, name)
		}
		st.Cookies++
	}
	vs := g.vendors(&st)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	return vs, st, nil
}
