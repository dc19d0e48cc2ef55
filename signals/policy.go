package signals

import "github.com/consentgate/consentgate/rules"

// Policy is what the signals of a request are read against: the parts of a
// site's configuration that change how a signal reads or what it denies.
// It is immutable once made, and shared by every request of a rule set
// (the proxy makes one per site when a rule set is swapped in); a nil
// *Policy reads the signals of no site: defaults everywhere, the opt-out
// denying rules.DefaultDeny.
type Policy struct {
	// Deny are the categories a "do not sell or share" opt-out denies.
	Deny rules.Categories
	// DNT: DNT: 1 opts out.
	DNT bool
	// OptOutCookie, when set, is the site's own opt-out cookie; the value
	// OptOutValue opts out.
	OptOutCookie, OptOutValue string
	// Mirror: the consent mirror's cookie is read.
	Mirror bool
	// CountryHeader and StateHeader name the headers a trusted front end
	// sets with the visitor's country and US state ("" for none).
	CountryHeader, StateHeader string
	// GeoIPDatabase is the MaxMind database that gives the country where
	// no header does ("" for none).
	GeoIPDatabase string
	// OptInCountries are the countries in opt-in mode (upper-case codes).
	OptInCountries map[string]bool
	// OneTrustGroups maps OneTrust group ids to categories (nil: the
	// default mapping).
	OneTrustGroups map[string]rules.Category
	// TCFVendors are the TCF vendor ids whose consent the site reads
	// (Consent.TCFVendorsDenied).
	TCFVendors []int
}

// PolicyOf returns the policy of site; nil for a nil site. The maps and
// slices are site's, shared.
func PolicyOf(site *rules.Site) *Policy {
	if site == nil {
		return nil
	}
	return &Policy{
		Deny: site.Deny, DNT: site.DNT, OptOutCookie: site.OptOutCookie, OptOutValue: site.OptOutValue,
		Mirror: site.Mirror, CountryHeader: site.CountryHeader, StateHeader: site.StateHeader,
		GeoIPDatabase: site.GeoIPDatabase, OptInCountries: site.OptInCountries,
		OneTrustGroups: site.OneTrustGroups, TCFVendors: site.TCFVendors,
	}
}
