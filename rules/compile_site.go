package rules

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// compileSite compiles one site. valid is whether config.Validate found it
// valid. It returns the site, or nil and the problems only compiling shows
// (categories, actions, guard mode, vendor ids), and warnings about a
// valid site.
func (c *compiler) compileSite(sc config.Site, valid bool) (*Site, []config.Problem, []config.Problem) {
	var probs, warns []config.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, config.Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	site := newSite(sc, c.cfg, len(c.s.vendors))
	if sc.Deny != nil {
		site.Deny = c.categories(".deny", sc.Deny, bad)
	}
	for _, k := range slices.Sorted(maps.Keys(sc.Actions)) {
		cat, err := ParseCategory(k)
		if err != nil {
			bad(".actions."+k, "%v", err)
			continue
		}
		a, err := ParseAction(sc.Actions[k])
		if err != nil {
			bad(".actions."+k, "%v", err)
			continue
		}
		site.Actions[cat] = a
	}
	for j, id := range sc.AllowVendors {
		if v := c.vendor(fmt.Sprintf(".allow_vendors[%d]", j), id, bad); v != nil {
			site.allow[v.index] = true
		}
	}
	if sc.OneTrustGroups != nil {
		site.OneTrustGroups = make(map[string]Category)
		for _, g := range slices.Sorted(maps.Keys(sc.OneTrustGroups)) {
			cat, err := ParseCategory(sc.OneTrustGroups[g])
			if err != nil {
				bad(".onetrust_groups."+g, "%v", err)
				continue
			}
			site.OneTrustGroups[g] = cat
		}
	}
	if sc.Guard != "" {
		m, err := ParseGuardMode(sc.Guard)
		if err != nil {
			bad(".guard", "%v", err)
		}
		site.Guard = m
	}
	warns = c.vendorCategories(site, sc.VendorCategories, bad)
	if len(probs) > 0 || !valid {
		return nil, probs, nil
	}
	return site, nil, warns
}

// newSite is a site with what config.Validate checked: it assumes sc is
// valid. nv is the number of vendors.
func newSite(sc config.Site, cfg *config.Config, nv int) *Site {
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
		KeepScripts:        compileKeepScripts(sc.KeepScripts),
		OptInCountries:     defaultOptIn(),
		OneTrustGroups:     map[string]Category{"C0001": Necessary, "C0002": Analytics, "C0003": Functional, "C0004": Advertising, "C0005": Social},
		allow:              make([]bool, nv),
		firstParty:         make(map[string]struct{}),
	}
	for _, h := range sc.Hosts {
		n, err := config.SiteHost(h)
		if err != nil {
			continue
		}
		site.Hosts = append(site.Hosts, n)
		if n != "*" {
			site.firstParty[strings.TrimPrefix(n, "*.")] = struct{}{}
		}
	}
	site.Upstream, _ = url.Parse(sc.UpstreamOr(cfg.Upstream))
	if oc := sc.OptOutCookie; oc != nil {
		site.OptOutCookie, site.OptOutValue = oc.Name, oc.Value
		if site.OptOutValue == "" {
			site.OptOutValue = DefaultOptOutValue
		}
	}
	for _, h := range sc.FirstParty {
		if n, err := urlhost.Normalise(h); err == nil {
			site.firstParty[n] = struct{}{}
		}
	}
	if sc.Prefix != "" {
		site.Prefix = strings.TrimSuffix(sc.Prefix, "/") + "/"
	}
	if r := sc.Region; r != nil {
		site.CountryHeader = r.CountryHeader
		site.GeoIPDatabase = r.GeoIPDatabase
		site.StateHeader = r.StateHeader
		if r.OptInCountries != nil {
			site.OptInCountries = make(map[string]bool)
			for _, cc := range r.OptInCountries {
				site.OptInCountries[strings.ToUpper(cc)] = true
			}
		}
	}
	return site
}

// vendorCategories compiles a site's vendor_categories into site and
// returns the warnings about them: a vendor an opt-out would deny by its
// catalogue category that the site's category lets through.
func (c *compiler) vendorCategories(site *Site, vc map[string]string, bad func(string, string, ...any)) []config.Problem {
	var warns []config.Problem
	for _, id := range slices.Sorted(maps.Keys(vc)) {
		field := ".vendor_categories." + id
		v := c.vendor(field, id, bad)
		if v == nil {
			continue
		}
		cat, err := ParseCategory(vc[id])
		if err != nil {
			bad(field, "%v", err)
			continue
		}
		if site.category == nil {
			site.category = make([]Category, len(c.s.vendors))
			for _, v := range c.s.byID {
				site.category[v.index] = v.Category
			}
		}
		site.category[v.index] = cat
		if DefaultDeny.Has(v.Category) && !DefaultDeny.Has(cat) {
			warns = append(warns, config.Problem{Field: field, Msg: fmt.Sprintf(
				"the site declares %s (%s), %s in the catalogue, %s: a \"Do Not Sell or Share\" opt-out no longer removes it on this site",
				id, v.Name, v.Category, cat)})
		}
	}
	return warns
}

// categories parses the categories of a list field (deny:), reporting
// each unknown one as field[j].
func (c *compiler) categories(field string, list []string, bad func(string, string, ...any)) Categories {
	var cs Categories
	for j, d := range list {
		cat, err := ParseCategory(d)
		if err != nil {
			bad(fmt.Sprintf("%s[%d]", field, j), "%v", err)
			continue
		}
		cs |= Of(cat)
	}
	return cs
}

// vendor returns the vendor with id, or nil after reporting the field that
// names it, with the closest id as a hint.
func (c *compiler) vendor(field, id string, bad func(string, string, ...any)) *Vendor {
	if v, ok := c.s.byID[id]; ok {
		return v
	}
	hint := "see consentgate rules list"
	if s := config.Closest(id, slices.Sorted(maps.Keys(c.s.byID))); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	bad(field, "no vendor with id %q (%s)", id, hint)
	return nil
}

// defaultOptIn is the EU/EEA, the UK and Switzerland.
func defaultOptIn() map[string]bool {
	m := make(map[string]bool)
	for _, c := range strings.Fields("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO GB CH") {
		m[c] = true
	}
	return m
}
