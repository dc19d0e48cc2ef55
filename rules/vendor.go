package rules

import (
	"fmt"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// Vendor is one third party in the catalogue: what it is, where it loads from,
// which cookies it sets and how its inline snippet can be recognised. Its
// fields as written are those of config.Vendor; a compiled Vendor has its
// hosts normalised, a name (its id when none is written) and its category.
type Vendor struct {
	config.Vendor
	Category Category `json:"-"`

	// index is the vendor's position in its Set; set at compile time.
	index int
}

// Index is the vendor's position in Set.Vendors, stable for one Set.
func (v *Vendor) Index() int { return v.index }

// Embed is config.Embed: what a vendor's embedded content is.
type Embed = config.Embed

// newVendor compiles a vendor as written that cv.Check accepted: a copy
// (cv is not changed) with its hosts normalised, a name (its id when none
// is written) and its category; the error says why the category is not
// one.
func newVendor(cv *config.Vendor) (*Vendor, error) {
	c, err := ParseCategory(cv.CategoryName)
	if err != nil {
		if cv.CategoryName == "" {
			return nil, fmt.Errorf("missing (want one of %s)", strings.Join(categoryNames[:], ", "))
		}
		return nil, err
	}
	v := &Vendor{Vendor: *cv, Category: c}
	v.CategoryName = c.String()
	if v.Name == "" {
		v.Name = v.ID
	}
	v.Hosts = make([]string, len(cv.Hosts))
	for i, h := range cv.Hosts {
		v.Hosts[i], _ = urlhost.NormaliseEntry(h) // checked by cv.Check
	}
	return v, nil
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
