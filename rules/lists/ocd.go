package lists

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
)

// ocdCategories maps Open Cookie Database categories to ours.
var ocdCategories = map[string]string{
	"necessary":       necessary,
	"security":        necessary,
	"functional":      functional,
	"personalization": functional,
	"preferences":     functional,
	"analytics":       analytics,
	"marketing":       advertising,
}

// OpenCookieDatabase reads the Open Cookie Database CSV (columns ID,
// Platform, Category, Cookie / Data Key name, Domain, Description, Retention
// period, Data Controller, User Privacy & GDPR Rights Portals, Wildcard
// match). Each platform and category becomes a vendor with cookies only,
// id "ocd-<platform>"; a row whose last column is 1 is a prefix. Rows whose
// name is not a cookie name (local-storage keys with spaces) or whose
// category is unknown are counted as ignored.
func OpenCookieDatabase(r io.Reader, opt Options) ([]*config.Vendor, Stats, error) {
	var st Stats
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, st, fmt.Errorf("not an Open Cookie Database CSV: %w", err)
	}
	col := make(map[string]int)
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	need := []string{"platform", "category", "cookie / data key name", "wildcard match"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, st, fmt.Errorf("not an Open Cookie Database CSV: no %q column", n)
		}
	}
	g := newGrouped("ocd", opt)
	seen := make(map[string]bool)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, st, err
		}
		get := func(n string) string {
			if i := col[n]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		c, ok := ocdCategories[strings.ToLower(get("category"))]
		name, platform := get("cookie / data key name"), get("platform")
		if !ok || platform == "" || !config.IsToken(name) {
			st.Ignored++
			continue
		}
		prefix := get("wildcard match") == "1"
		key := name
		if prefix {
			key += "*"
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		v := g.vendor(platform, overrideCategory(opt, c))
		if prefix {
			v.CookiePrefixes = append(v.CookiePrefixes, name)
		} else {
			v.Cookies = append(v.Cookies, name)
		}
		st.Cookies++
	}
	vs := g.vendors(&st)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	return vs, st, nil
}
