package config

import (
	"fmt"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is a consentgate configuration file as written, before
// validation. Parse fills it, Validate checks it, and rules.Compile turns
// it into an immutable *rules.Set. Nothing of this package changes a
// Config once it is parsed.
type Config struct {
	// Listen, Admin and Upstream are the serve defaults; command-line flags
	// and environment variables override them. The listen addresses are
	// serve's to check (reload.Hooks.Validate), not Validate's.
	Listen   string `yaml:"listen"`
	Admin    string `yaml:"admin"`
	Upstream string `yaml:"upstream"`
	// UpstreamTimeout bounds one upstream round trip (default 30s); past it
	// the visitor gets a 504.
	UpstreamTimeout Duration `yaml:"upstream_timeout"`
	// ResponseCache bounds the memory of the rewritten pages kept for
	// opted-out visitors, e.g. 64MiB (the default); serve's
	// --response-cache 0 turns the cache off.
	ResponseCache ByteSize `yaml:"response_cache"`
	// Registry is the shared opt-out registry (optional; read at start).
	Registry *Registry `yaml:"registry"`
	// Account is the account key of every site that does not name its own.
	Account *Account `yaml:"account"`
	// Vendors are added to the built-in catalogue (or replace an entry with
	// the same id).
	Vendors []*Vendor `yaml:"vendors"`
	// Sites are matched by host, first match wins. With no sites, every host
	// gets the default policy and the default upstream.
	Sites []Site `yaml:"sites"`
	// Imports are public lists (ABP host rules, Disconnect, DuckDuckGo
	// Tracker Radar, Open Cookie Database) compiled in after the catalogue
	// and Vendors.
	Imports []Import `yaml:"imports"`
	// Receipts are the serve defaults of --receipts and its settings.
	Receipts *Receipts `yaml:"receipts"`

	file  string
	dir   string    // directory of file; relative import paths start here
	raw   []byte    // the bytes parsed, for Set.Version and reload checks
	lines lineIndex // field path → line, for problems
}

// Import names one list to import.
type Import struct {
	// Format is abp, disconnect, tds or open-cookie-database.
	Format string `yaml:"format"`
	// Path of the file, relative to the config file's directory.
	Path string `yaml:"path"`
	// ID of the vendor an abp list becomes (default "abp-" and the file
	// name); for the other formats a prefix of the vendor ids (default the
	// format's short name).
	ID string `yaml:"id"`
	// Category overrides the list's own categories; abp lists default to
	// advertising.
	Category string `yaml:"category"`
	// Licence of the list, shown by consentgate rules list; required.
	Licence string `yaml:"licence"`
}

// Site is the policy of one site as written in the config file.
type Site struct {
	Name string `yaml:"name"`
	// Hosts the site answers for: exact names or "*.example.com" wildcards;
	// "*" matches every host.
	Hosts    []string `yaml:"hosts"`
	Upstream string   `yaml:"upstream"`
	// OptOutCookie is the site's own "Do Not Sell or Share" cookie
	// (default consentgate_optout=1).
	OptOutCookie *Cookie `yaml:"optout_cookie"`
	// Deny lists the categories an opt-out denies (default advertising,
	// analytics, social).
	Deny []string `yaml:"deny"`
	// Actions maps a category to remove or neutralise (default remove).
	Actions map[string]string `yaml:"actions"`
	// AllowVendors are catalogue vendor ids never enforced on this site.
	AllowVendors []string `yaml:"allow_vendors"`
	// FirstParty hosts (suffixes) are never third parties on this site.
	FirstParty []string `yaml:"first_party"`
	// DNT makes "DNT: 1" count as an opt-out (default off).
	DNT bool `yaml:"dnt"`
	// Region selects opt-in or opt-out mode by the visitor's country.
	Region *Region `yaml:"region"`
	// Shadow computes and counts every decision but changes nothing.
	Shadow bool `yaml:"shadow"`
	// Prefix of the built-in paths (default /.consentgate/).
	Prefix string `yaml:"prefix"`
	// OneTrustGroups maps OneTrust group ids to categories (default C0001
	// necessary, C0002 analytics, C0003 functional, C0004 advertising, C0005
	// social).
	OneTrustGroups map[string]string `yaml:"onetrust_groups"`
	// TCFVendors are IAB TCF vendor ids whose consent the site checks.
	TCFVendors []int `yaml:"tcf_vendors"`
	// VendorCategories maps a vendor id to the category this site gives
	// it, replacing the catalogue's category on this site only (the site's
	// cookie policy may call a vendor "essential" that the catalogue calls
	// advertising).
	VendorCategories map[string]string `yaml:"vendor_categories"`
	// Account is where the site's account id is and the secret that
	// hashes it (default: the top-level account).
	Account *Account `yaml:"account"`
	// KeepScripts are inline scripts the rewriter always keeps.
	KeepScripts []KeepScript `yaml:"keep_scripts"`
	// Guard is how the runtime guard is served to opted-out visitors:
	// external (default), inline or off.
	Guard string `yaml:"guard"`
	// DecisionHeader adds Consentgate-Decision to every proxied response.
	DecisionHeader bool `yaml:"decision_header"`
	// Propagate tells the vendors that stay on an opted-out visitor's page
	// about the opt-out in their own terms (usprivacy, __gpp cookies and
	// the __uspapi and __gpp APIs).
	Propagate bool `yaml:"propagate"`
	// Mirror serves the consent mirror on every HTML page of the site.
	Mirror bool `yaml:"mirror"`
	// Canary fetches pages through the proxy as an opted-out visitor.
	Canary *Canary `yaml:"canary"`
	// DeclaredCookies is the site's published cookie table (CSV), for
	// consentgate audit policy.
	DeclaredCookies string `yaml:"declared_cookies"`
	// Placeholders makes a removed embed (a video, map, social post or
	// audio player of a catalogue vendor with an embed) leave a
	// first-party placeholder of its size that says why it is not loaded,
	// with a button that loads it for this page view (default off).
	Placeholders bool `yaml:"placeholders"`
	// PlaceholderText replaces the placeholder's sentence about the embed
	// ({name}, {company}, {kind}).
	PlaceholderText string `yaml:"placeholder_text"`
	// PlaceholderButton replaces the button's label ({name}, {kind}).
	PlaceholderButton string `yaml:"placeholder_button"`
	// OptOutConfirmation: the opt-out endpoint answers with a page that
	// confirms what was recorded (default true); false sends the visitor
	// straight back (303), as ?redirect=1 does.
	OptOutConfirmation *bool `yaml:"optout_confirmation"`
	// OptOutText replaces the confirmation page's first paragraph.
	OptOutText string `yaml:"optout_text"`
	// GPCNotice shows visitors whose opt-out came from Global Privacy
	// Control a small, dismissible "Opt-out preference signal honored"
	// notice (default off).
	GPCNotice bool `yaml:"gpc_notice"`
	// GPCNoticeText replaces the notice's text.
	GPCNoticeText string `yaml:"gpc_notice_text"`
}

// Cookie names a cookie and the value that means "opted out".
type Cookie struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Region says how the visitor's country is known.
type Region struct {
	// CountryHeader is a request header set by a trusted front end
	// (e.g. CF-IPCountry); empty means not used.
	CountryHeader string `yaml:"country_header"`
	// GeoIPDatabase is the path of a MaxMind country database; empty means not used.
	GeoIPDatabase string `yaml:"geoip_database"`
	// OptInCountries overrides the default opt-in list (EU/EEA, UK, CH).
	OptInCountries []string `yaml:"optin_countries"`
	// StateHeader is a request header set by a trusted front end with the
	// visitor's US state ("US-TX", or "TX" when the country is US); when
	// set, a visitor is judged by the GPP section of their state's law
	// (see signals.Law). Empty means not used.
	StateHeader string `yaml:"state_header"`
}

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	// A *yaml.TypeError lets the decoder go on and report every problem.
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (write e.g. 30s or 1m)", n.Line, n.Value)}}
	}
	if v <= 0 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: duration %q must be positive", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// Default is the config of "serve" without a file: every host proxied to
// upstream with the built-in catalogue and the default policy.
func Default(upstream string) *Config {
	return &Config{Upstream: upstream, file: "(defaults)", dir: "."}
}

// File is the name the config was read from.
func (c *Config) File() string { return c.file }

// Bytes are the bytes the config was parsed from; nil for a config built
// in code. Callers must not change them.
func (c *Config) Bytes() []byte { return c.raw }

// Path resolves a path written in the config (an import, a secret file, a
// cookie table) against the directory of the config file.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Line is the line of a field path such as "sites[0].hosts[1]", or of its
// nearest parent that has one; 0 when none has (a config built in code).
func (c *Config) Line(field string) int { return c.lines.line(field) }
