package rules

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"sync"

	"github.com/consentgate/consentgate/rules/config"
	"go.yaml.in/yaml/v3"
)

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

// parseVendors parses and compiles a vendor list such as catalogue.yaml;
// the first problem is the error.
func parseVendors(data []byte, name string) ([]*Vendor, error) {
	var doc struct {
		Vendors []*config.Vendor `yaml:"vendors"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("cannot parse vendor list %s: %w", name, err)
	}
	out := make([]*Vendor, len(doc.Vendors))
	seen := make(map[string]bool, len(doc.Vendors))
	for i, cv := range doc.Vendors {
		probs := cv.Check()
		v, err := newVendor(cv)
		if err != nil {
			// In the order the fields are written: after the id's problem.
			j := 0
			for j < len(probs) && probs[j].Field == ".id" {
				j++
			}
			probs = slices.Insert(probs, j, config.Problem{Field: ".category", Msg: err.Error()})
		}
		if len(probs) > 0 {
			return nil, fmt.Errorf("%s: vendors[%d] (%q)%s: %s", name, i, cv.ID, probs[0].Field, probs[0].Msg)
		}
		if seen[v.ID] {
			return nil, fmt.Errorf("%s: vendor %q listed twice", name, v.ID)
		}
		seen[v.ID] = true
		out[i] = v
	}
	return out, nil
}
