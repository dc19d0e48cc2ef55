package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/consentgate/consentgate/rules/urlhost"
)

// Vendor is one third party as written: in the built-in catalogue, in a
// config's vendors: or by an importer of a public list. rules.Vendor
// embeds it with its category parsed.
type Vendor struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// CategoryName is the category as written (rules.Vendor.Category is
	// the parsed one).
	CategoryName string `yaml:"category" json:"category"`
	// Hosts are host suffixes: "google-analytics.com" matches that host and
	// every subdomain of it.
	Hosts []string `yaml:"hosts" json:"hosts"`
	// Cookies are exact cookie names; CookiePrefixes match names that start
	// with them.
	Cookies        []string `yaml:"cookies,omitempty" json:"cookies,omitempty"`
	CookiePrefixes []string `yaml:"cookie_prefixes,omitempty" json:"cookie_prefixes,omitempty"`
	// Signatures are byte strings that identify the vendor's snippet inside
	// an inline <script>.
	Signatures []string `yaml:"signatures,omitempty" json:"signatures,omitempty"`
	// Globals are the JavaScript globals the vendor's snippet defines; the
	// rewriter stubs them as no-ops when it removes the vendor.
	Globals []string `yaml:"globals,omitempty" json:"globals,omitempty"`
	// Source says where the facts of the entry come from.
	Source string `yaml:"source" json:"source"`
	// Licence is set for vendors imported from a list a user brings.
	Licence string `yaml:"licence,omitempty" json:"licence,omitempty"`
	// Embed is set for vendors whose iframes and AMP components show the
	// visitor content (a video, a map, a post, an audio player): a site
	// with placeholders on shows one in place of such an element when it
	// is removed. Trackers have none.
	Embed *Embed `yaml:"embed,omitempty" json:"embed,omitempty"`
}

// validID is the syntax of vendor ids and import id prefixes.
var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Check reports the problems of a vendor entry that need neither the
// catalogue nor the vocabulary of package rules (its category is checked
// when it is compiled): the id, that it matches something, the syntax of
// its hosts (never a public suffix), cookie names and prefixes, signatures
// and embed. Problems have field paths relative to the vendor, such as
// ".hosts[1]". It does not change v.
func (v *Vendor) Check() []Problem {
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if v.ID == "" {
		bad(".id", "every vendor needs an id (it labels metrics)")
	} else if !validID.MatchString(v.ID) {
		bad(".id", "%q is not a valid id: use lower-case letters, digits, dots, dashes and underscores", v.ID)
	}
	if len(v.Hosts) == 0 && len(v.Cookies) == 0 && len(v.CookiePrefixes) == 0 && len(v.Signatures) == 0 {
		bad("", "vendor %q matches nothing: give hosts, cookies, cookie_prefixes or signatures", v.ID)
	}
	for i, h := range v.Hosts {
		if _, err := urlhost.NormaliseEntry(h); err != nil {
			bad(fmt.Sprintf(".hosts[%d]", i), "%v", err)
		}
	}
	for i, c := range v.Cookies {
		if !IsToken(c) {
			bad(fmt.Sprintf(".cookies[%d]", i), "%q is not a valid cookie name", c)
		}
	}
	for i, c := range v.CookiePrefixes {
		if !IsToken(c) {
			bad(fmt.Sprintf(".cookie_prefixes[%d]", i), "%q is not a valid cookie name prefix", c)
		}
	}
	for i, sig := range v.Signatures {
		if len(sig) < 4 {
			bad(fmt.Sprintf(".signatures[%d]", i), "%q is too short to identify a snippet (at least 4 bytes)", sig)
		}
	}
	if e := v.Embed; e != nil {
		if !slices.Contains(EmbedKinds, e.Kind) {
			bad(".embed.kind", "%q is not an embed kind (want one of %s)", e.Kind, strings.Join(EmbedKinds, ", "))
		}
		if e.Name == "" || len(e.Name) > 64 || e.Company == "" || len(e.Company) > 64 {
			bad(".embed", "an embed needs a name and a company (each at most 64 bytes): the placeholder names both")
		}
		for i, p := range e.Paths {
			if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t") {
				bad(fmt.Sprintf(".embed.paths[%d]", i), "%q is not a URL path such as /plugins/", p)
			}
		}
	}
	return probs
}

// Embed says what a vendor's embedded content is, for the placeholder
// that stands in for it when it is removed.
type Embed struct {
	// Kind is video, map, social (a post) or audio.
	Kind string `yaml:"kind" json:"kind"`
	// Name is the product the visitor knows ("YouTube").
	Name string `yaml:"name" json:"name"`
	// Company receives the data when the embed loads ("Google").
	Company string `yaml:"company" json:"company"`
	// Paths, when set, are the URL path prefixes of the vendor's embeds;
	// an iframe on its hosts with another path (a tracking frame on the
	// same host) gets no placeholder.
	Paths []string `yaml:"paths,omitempty" json:"paths,omitempty"`
}

// EmbedKinds are the kinds of embedded content.
var EmbedKinds = []string{"video", "map", "social", "audio"}

// EmbedPath reports whether the URL path p (from its first '/', query
// included or not) is one of e's embeds.
func (e *Embed) EmbedPath(p []byte) bool {
	if len(e.Paths) == 0 {
		return true
	}
	for _, x := range e.Paths {
		if len(p) >= len(x) && asciiFoldEq(p[:len(x)], x) {
			return true
		}
	}
	return false
}

func asciiFoldEq(b []byte, s string) bool {
	for i := range b {
		c, d := b[i], s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// IsToken reports whether s is a cookie or header name (an RFC 6265 and
// RFC 9110 token).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
