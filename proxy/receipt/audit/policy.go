package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/rules"
)

// Findings of a declared row against the catalogue.
const (
	// FindingAgrees: the table and the catalogue give the same category.
	FindingAgrees = "agrees"
	// FindingExempts: the table calls necessary or functional a vendor the
	// catalogue puts in a category the site's opt-out denies: the site
	// tells visitors an opt-out does not cover it.
	FindingExempts = "declared exempt from opt-out"
	// FindingDiffers: both are denied by an opt-out, or both not, but the
	// categories differ.
	FindingDiffers = "differs"
	// FindingUnknown: no catalogue vendor answers to the name: a first-party
	// cookie, or a third party the proxy cannot enforce.
	FindingUnknown = "not in the catalogue"
	// FindingAmbiguous: several catalogue vendors answer to the name.
	FindingAmbiguous = "ambiguous"
)

// PolicyOptions configure a policy audit.
type PolicyOptions struct {
	// Top bounds the undeclared cookie names listed (default 50); the rest
	// are counted together.
	Top int
}

// PolicyReport compares a site's declared cookie table with the catalogue
// and with the cookies the proxy saw its upstream set.
type PolicyReport struct {
	Site     string `json:"site"`
	Declared string `json:"declared"`
	// Deny is what an opt-out denies on the site.
	Deny []string `json:"deny"`
	// Rows are every declared row and what the catalogue says.
	Rows []RowFinding `json:"rows"`
	// Disagreements are the rows whose finding is not "agrees".
	Disagreements int `json:"disagreements"`
	// Observed are the cookie names the upstream set, from receipts; nil
	// when none were given.
	Observed *Observed `json:"observed,omitempty"`
}

// RowFinding is one declared row against the catalogue.
type RowFinding struct {
	Line             int    `json:"line"`
	Name             string `json:"name"`
	Declared         string `json:"declared"`
	DeclaredCategory string `json:"declared_category"`
	Duration         string `json:"duration,omitempty"`
	Vendor           string `json:"vendor,omitempty"`
	VendorCategory   string `json:"vendor_category,omitempty"`
	// Enforced is the category the proxy gives the vendor on this site
	// when the site's vendor_categories overrides the catalogue's.
	Enforced   string   `json:"enforced,omitempty"`
	How        string   `json:"how,omitempty"`
	Candidates []string `json:"candidates,omitempty"`
	Finding    string   `json:"finding"`
}

// Observed is the cookie inventory gathered from real traffic: names only.
type Observed struct {
	// Responses are the enforced responses read; Names the distinct
	// cookie names seen; Sightings the responses that set one.
	Responses int `json:"responses"`
	Names     int `json:"names"`
	Sightings int `json:"sightings"`
	// Undeclared are the names the table does not cover, most seen first
	// (at most PolicyOptions.Top), with the catalogue vendor when known.
	Undeclared []Count `json:"undeclared"`
	// Other counts the undeclared names past Top and their sightings, and
	// set-cookie names a receipt only counted (too long, not a token, past
	// its limit).
	OtherNames     int `json:"other_names"`
	OtherSightings int `json:"other_sightings"`
	Uncounted      int `json:"uncounted"`
}

// Inventory counts cookie names per site from receipts.
type Inventory struct {
	responses map[string]int
	names     map[string]map[string]int
	uncounted map[string]int
}

// ReadInventory reads the names of the cookies the upstream set from the
// response receipts of the files, per site.
func ReadInventory(files []string) (*Inventory, error) {
	inv := &Inventory{responses: map[string]int{}, names: map[string]map[string]int{}, uncounted: map[string]int{}}
	err := receipt.ReadRecords(files, func(l receipt.Line, r *receipt.Record, err error) error {
		if err != nil || r.Kind != "response" {
			return nil
		}
		inv.responses[r.Site]++
		inv.uncounted[r.Site] += r.SetCookiesOther
		m := inv.names[r.Site]
		if m == nil {
			m = map[string]int{}
			inv.names[r.Site] = m
		}
		for _, n := range r.SetCookies {
			m[n]++
		}
		return nil
	})
	return inv, err
}

// Policy audits the declared cookie table of a site (decl, or the site's
// declared_cookies when nil) against the catalogue of set and, when inv is
// not nil, against the cookie names seen on the site.
func Policy(set *rules.Set, site *rules.Site, decl *rules.Declaration, inv *Inventory, o PolicyOptions) (*PolicyReport, error) {
	if o.Top <= 0 {
		o.Top = 50
	}
	if decl == nil {
		decl = site.Declared
	}
	if decl == nil {
		return nil, fmt.Errorf("site %q declares no cookie table: give --declared CSV or declared_cookies: in the config", site.Name)
	}
	rep := &PolicyReport{Site: site.Name, Declared: decl.File, Deny: site.Deny.Names(), Rows: []RowFinding{}}
	declaredNames := map[string]bool{}
	declaredVendors := map[*rules.Vendor]bool{}
	for _, r := range decl.Resolve(set) {
		f := RowFinding{Line: r.Line, Name: r.Name, Declared: r.Declared, DeclaredCategory: r.Category.String(),
			Duration: r.Duration, How: r.How, Candidates: r.Candidates}
		declaredNames[strings.ToLower(r.Name)] = true
		switch {
		case r.Vendor != nil:
			declaredVendors[r.Vendor] = true
			f.Vendor, f.VendorCategory = r.Vendor.ID, r.Vendor.Category.String()
			if c := site.Category(r.Vendor); c != r.Vendor.Category {
				f.Enforced = c.String()
			}
			declDenied, catDenied := site.Deny.Has(r.Category), site.Deny.Has(r.Vendor.Category)
			switch {
			case r.Category == r.Vendor.Category:
				f.Finding = FindingAgrees
			case catDenied && !declDenied:
				f.Finding = FindingExempts
			default:
				f.Finding = FindingDiffers
			}
		case len(r.Candidates) > 0:
			f.Finding = FindingAmbiguous
		default:
			f.Finding = FindingUnknown
		}
		if f.Finding != FindingAgrees {
			rep.Disagreements++
		}
		rep.Rows = append(rep.Rows, f)
	}
	if inv != nil {
		ob := &Observed{Responses: inv.responses[site.Name], Uncounted: inv.uncounted[site.Name], Undeclared: []Count{}}
		var undeclared []Count
		for name, n := range inv.names[site.Name] {
			ob.Names++
			ob.Sightings += n
			v := set.CookieVendor([]byte(name))
			if declaredNames[strings.ToLower(name)] || v != nil && declaredVendors[v] {
				continue
			}
			c := Count{Name: name, N: n}
			if v != nil {
				c.Category = v.ID + " (" + v.Category.String() + ")"
			}
			undeclared = append(undeclared, c)
		}
		sortCounts(undeclared)
		for i, c := range undeclared {
			if i < o.Top {
				ob.Undeclared = append(ob.Undeclared, c)
			} else {
				ob.OtherNames++
				ob.OtherSightings += c.N
			}
		}
		rep.Observed = ob
	}
	return rep, nil
}

// WriteJSON writes the reports as indented JSON.
func WritePolicyJSON(w io.Writer, reps []*PolicyReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(reps)
}

// WritePolicyMarkdown writes the reports as Markdown: disagreements first.
func WritePolicyMarkdown(w io.Writer, reps []*PolicyReport) error {
	b := &strings.Builder{}
	for _, r := range reps {
		fmt.Fprintf(b, "# Declared cookie policy of site %s\n\n", r.Site)
		fmt.Fprintf(b, "Table: %s (%d rows). An opt-out on this site denies: %s.\n\n", r.Declared, len(r.Rows), strings.Join(r.Deny, ", "))
		groups := map[string][]RowFinding{}
		for _, f := range r.Rows {
			groups[f.Finding] = append(groups[f.Finding], f)
		}
		section := func(finding, title, explain string) {
			rows := groups[finding]
			fmt.Fprintf(b, "## %s (%d)\n\n", title, len(rows))
			if len(rows) == 0 {
				return
			}
			b.WriteString(explain + "\n\n| line | declared name | declared | catalogue vendor | catalogue category |\n| ---: | --- | --- | --- | --- |\n")
			for _, f := range rows {
				vendor := f.Vendor
				if vendor == "" && len(f.Candidates) > 0 {
					vendor = "one of " + strings.Join(f.Candidates, ", ")
				}
				cat := f.VendorCategory
				if f.Enforced != "" {
					cat += " (enforced here as " + f.Enforced + ": vendor_categories)"
				}
				fmt.Fprintf(b, "| %d | %s | %s (%s) | %s | %s |\n", f.Line, mdCell(f.Name), mdCell(f.Declared), f.DeclaredCategory, vendor, cat)
			}
			b.WriteString("\n")
		}
		section(FindingExempts, "Declared exempt from the opt-out, denied by the catalogue",
			"The table tells visitors these are essential or functional; the catalogue puts the vendor in a category an opt-out denies, and consentgate enforces the catalogue's category unless the site's vendor_categories says otherwise.")
		section(FindingDiffers, "Declared in another category", "Both are enforced alike on opt-out (or both not), but the table and the catalogue disagree.")
		section(FindingUnknown, "Not in the catalogue", "First-party cookies, or third parties consentgate does not know and so cannot enforce: add them as vendors: in the config if they are third parties.")
		section(FindingAmbiguous, "Ambiguous names", "Several catalogue vendors answer to the name; add a vendor column with the catalogue id.")
		fmt.Fprintf(b, "## Agrees with the catalogue (%d)\n\n", len(groups[FindingAgrees]))
		var agree []string
		for _, f := range groups[FindingAgrees] {
			agree = append(agree, fmt.Sprintf("%s (%s)", f.Name, f.Vendor))
		}
		sort.Strings(agree)
		if len(agree) > 0 {
			b.WriteString(strings.Join(agree, ", ") + ".\n\n")
		}
		if ob := r.Observed; ob != nil {
			fmt.Fprintf(b, "## Cookies the upstream set that the table does not list\n\nFrom %d receipts of enforced responses: %d cookie names in %d sightings (names only, never values).\n\n",
				ob.Responses, ob.Names, ob.Sightings)
			if len(ob.Undeclared) == 0 {
				b.WriteString("Every name seen is declared.\n\n")
			} else {
				b.WriteString("| cookie | responses that set it | catalogue vendor |\n| --- | ---: | --- |\n")
				for _, c := range ob.Undeclared {
					fmt.Fprintf(b, "| %s | %d | %s |\n", mdCell(c.Name), c.N, c.Category)
				}
				b.WriteString("\n")
			}
			if ob.OtherNames > 0 {
				fmt.Fprintf(b, "%d more undeclared names in %d sightings.\n\n", ob.OtherNames, ob.OtherSightings)
			}
			if ob.Uncounted > 0 {
				fmt.Fprintf(b, "%d Set-Cookie names were counted but not recorded (over %d bytes, not a token, or past %d a response).\n\n",
					ob.Uncounted, receipt.MaxNameLen, receipt.MaxSetCookies)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
