package rules

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/consentgate/consentgate/rules/urlhost"
	"go.yaml.in/yaml/v3"
)

// Vendor is one third party in the catalogue: what it is, where it loads from,
// which cookies it sets and how its inline snippet can be recognised.
type Vendor struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Category Category `yaml:"-" json:"-"`
	// CategoryName is Category as written in the catalogue file.
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

	// index is the vendor's position in its Set; set at compile time.
	index int
}

// Index is the vendor's position in Set.Vendors, stable for one Set.
func (v *Vendor) Index() int { return v.index }

//go:embed catalogue.yaml
var catalogueYAML []byte

// parsedCatalogue parses the embedded catalogue once; Catalogue clones it.
var parsedCatalogue = sync.OnceValues(func() ([]*Vendor, error) {
	return parseVendors(catalogueYAML, "catalogue.yaml")
})

// Catalogue returns the built-in vendor catalogue. Each call returns fresh
// values the caller may change.
func Catalogue() ([]*Vendor, error) {
	vs, err := parsedCatalogue()
	if err != nil {
		return nil, err
	}
	out := make([]*Vendor, len(vs))
	for i, v := range vs {
		c := *v
		c.Hosts = slices.Clone(v.Hosts)
		c.Cookies = slices.Clone(v.Cookies)
		c.CookiePrefixes = slices.Clone(v.CookiePrefixes)
		c.Signatures = slices.Clone(v.Signatures)
		c.Globals = slices.Clone(v.Globals)
		if v.Embed != nil {
			e := *v.Embed
			e.Paths = slices.Clone(v.Embed.Paths)
			c.Embed = &e
		}
		out[i] = &c
	}
	return out, nil
}

func parseVendors(data []byte, name string) ([]*Vendor, error) {
	var doc struct {
		Vendors []*Vendor `yaml:"vendors"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("cannot parse vendor list %s: %w", name, err)
	}
	seen := make(map[string]bool, len(doc.Vendors))
	for i, v := range doc.Vendors {
		if probs := v.check(); len(probs) > 0 {
			return nil, fmt.Errorf("%s: vendors[%d] (%q)%s: %s", name, i, v.ID, probs[0].Field, probs[0].Msg)
		}
		if seen[v.ID] {
			return nil, fmt.Errorf("%s: vendor %q listed twice", name, v.ID)
		}
		seen[v.ID] = true
	}
	return doc.Vendors, nil
}

var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// check validates a vendor, normalises its hosts and fills Category from
// CategoryName. Problems have field paths relative to the vendor, such as
// ".hosts[1]".
func (v *Vendor) check() []Problem {
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if v.ID == "" {
		bad(".id", "every vendor needs an id (it labels metrics)")
	} else if !validID.MatchString(v.ID) {
		bad(".id", "%q is not a valid id: use lower-case letters, digits, dots, dashes and underscores", v.ID)
	}
	if v.Name == "" {
		v.Name = v.ID
	}
	if c, err := ParseCategory(v.CategoryName); err != nil {
		if v.CategoryName == "" {
			bad(".category", "missing (want one of %s)", strings.Join(categoryNames[:], ", "))
		} else {
			bad(".category", "%v", err)
		}
	} else {
		v.Category, v.CategoryName = c, c.String()
	}
	if len(v.Hosts) == 0 && len(v.Cookies) == 0 && len(v.CookiePrefixes) == 0 && len(v.Signatures) == 0 {
		bad("", "vendor %q matches nothing: give hosts, cookies, cookie_prefixes or signatures", v.ID)
	}
	for i, h := range v.Hosts {
		n, err := urlhost.NormaliseEntry(h)
		if err != nil {
			bad(fmt.Sprintf(".hosts[%d]", i), "%v", err)
			continue
		}
		v.Hosts[i] = n
	}
	for i, c := range v.Cookies {
		if !validCookieName(c) {
			bad(fmt.Sprintf(".cookies[%d]", i), "%q is not a valid cookie name", c)
		}
	}
	for i, c := range v.CookiePrefixes {
		if !validCookieName(c) {
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

// validCookieName reports whether s is a cookie name (an RFC 6265 token).
func validCookieName(s string) bool {
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

// VendorInfo is a vendor as "consentgate rules list --json" prints it.
type VendorInfo struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Category       string   `json:"category"`
	Hosts          []string `json:"hosts"`
	Cookies        []string `json:"cookies"`
	CookiePrefixes []string `json:"cookie_prefixes"`
	Signatures     []string `json:"signatures"`
	Globals        []string `json:"globals"`
	Source         string   `json:"source,omitempty"`
	Licence        string   `json:"licence,omitempty"`
	Embed          *Embed   `json:"embed,omitempty"`
}

// Info returns the vendor as JSON-friendly data; lists are never nil.
func (v *Vendor) Info() VendorInfo {
	nn := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return VendorInfo{
		ID: v.ID, Name: v.Name, Category: v.Category.String(),
		Hosts: nn(v.Hosts), Cookies: nn(v.Cookies), CookiePrefixes: nn(v.CookiePrefixes),
		Signatures: nn(v.Signatures), Globals: nn(v.Globals),
		Source: v.Source, Licence: v.Licence, Embed: v.Embed,
	}
}
