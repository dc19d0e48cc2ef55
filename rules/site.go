package rules

import (
	"net/url"
	"time"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// Defaults of a site's policy.
const (
	DefaultPrefix       = "/.consentgate/"
	DefaultOptOutCookie = "consentgate_optout"
	// MirrorCookie is the consent mirror's cookie (signals.MirrorCookie);
	// no site's opt-out cookie may take its name.
	MirrorCookie          = config.MirrorCookie
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

// Denied reports whether v is enforced on site for a visitor denying deny:
// the site's category of v (Category) is denied and the site does not
// allow v. A nil site denies by the vendor's own category.
func (site *Site) Denied(v *Vendor, deny Categories) bool {
	return v != nil && deny.Has(site.Category(v)) && !site.Allowed(v)
}
