package lists

import (
	"io"
	"maps"
	"slices"

	"github.com/consentgate/consentgate/rules/config"
)

// tdsCategories maps Tracker Radar categories to ours, strongest first.
var tdsCategories = []struct {
	names []string
	c     string
}{
	{[]string{"Advertising", "Ad Motivated Tracking", "Action Pixels", "Ad Fraud", "Third-Party Analytics Marketing", "Unknown High Risk Behavior", "Obscure Ownership"}, advertising},
	{[]string{"Social - Share", "Social - Comment", "Social Network"}, social},
	{[]string{"Analytics", "Audience Measurement", "Session Replay", "Tag Manager"}, analytics},
	{[]string{"Embedded Content", "Online Payment", "Federated Login", "SSO", "Support Chat Widget", "Badge"}, functional},
}

// TDS reads a DuckDuckGo Tracker Radar blocklist (tds.json):
// {"trackers": {"host": {"owner": {"name", "displayName"}, "categories": [...],
// "default": "block"}}}. Trackers DuckDuckGo does not block by default
// ("default": "ignore") and those with no known category are counted as
// ignored. Each owner and category becomes a vendor with id "tds-<owner>".
func TDS(r io.Reader, opt Options) ([]*config.Vendor, Stats, error) {
	var st Stats
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
	if err := decodeJSON(r, &doc, "tds.json", "trackers", func() bool { return doc.Trackers != nil }); err != nil {
		return nil, st, err
	}
	g := newGrouped("tds", opt)
	for _, host := range slices.Sorted(maps.Keys(doc.Trackers)) {
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

func tdsCategory(cats []string, def string) (string, bool) {
	if def == "ignore" {
		return "", false
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
		return advertising, true
	}
	return "", false
}
