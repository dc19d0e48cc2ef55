package lists

import (
	"encoding/json"
	"io"
	"maps"
	"slices"

	"github.com/consentgate/consentgate/rules/config"
)

// disconnectCategories maps Disconnect's categories to ours; others are
// ignored.
var disconnectCategories = map[string]string{
	"Advertising":            advertising,
	"Analytics":              analytics,
	"Social":                 social,
	"Content":                functional,
	"Disconnect":             advertising,
	"Email":                  advertising,
	"EmailAggressive":        advertising,
	"FingerprintingGeneral":  advertising,
	"FingerprintingInvasive": advertising,
	"Cryptomining":           advertising,
}

// Disconnect reads a Disconnect tracking protection services.json:
// {"categories": {"Advertising": [{"Entity": {"https://home/": ["host", ...]}}]}}.
// Each entity and category becomes a vendor with id "disconnect-<entity>"
// (opt.ID replaces the prefix).
func Disconnect(r io.Reader, opt Options) ([]*config.Vendor, Stats, error) {
	var st Stats
	var doc struct {
		Categories map[string][]map[string]map[string]json.RawMessage `json:"categories"`
	}
	if err := decodeJSON(r, &doc, "services.json", "categories", func() bool { return doc.Categories != nil }); err != nil {
		return nil, st, err
	}
	g := newGrouped("disconnect", opt)
	for _, catName := range slices.Sorted(maps.Keys(doc.Categories)) {
		c, ok := disconnectCategories[catName]
		if !ok {
			st.Ignored += len(doc.Categories[catName])
			continue
		}
		c = overrideCategory(opt, c)
		for _, entity := range doc.Categories[catName] {
			for _, name := range slices.Sorted(maps.Keys(entity)) {
				v := g.vendor(name, c)
				for _, home := range slices.Sorted(maps.Keys(entity[name])) {
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
