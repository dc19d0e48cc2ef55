package rules

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Declaration is a site's published cookie table: what the site tells its
// visitors each cookie or third party is for. It changes no enforcement;
// consentgate audit policy compares it with the catalogue and with the
// cookies the proxy saw the upstream set.
type Declaration struct {
	File string
	Rows []DeclaredRow
}

// DeclaredRow is one row of a cookie table.
type DeclaredRow struct {
	Line int
	// Name is a cookie name ("_ga") or a third party's name ("Google
	// Analytics") as the table writes it.
	Name string
	// Category is the declared category mapped onto consentgate's;
	// Declared is the text of the table ("Targeting/Advertising").
	Category Category
	Declared string
	Duration string
	// VendorID, when the table has a vendor column, pins the catalogue
	// vendor the row is about.
	VendorID string
}

// DeclarationError is a problem of a cookie table, with its line.
type DeclarationError struct {
	File string
	Line int
	Msg  string
}

func (e *DeclarationError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ReadDeclaration reads a cookie table from a CSV file (see
// ParseDeclaration).
func ReadDeclaration(path string) (*Declaration, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the declared cookie table: %w", err)
	}
	return ParseDeclaration(data, path)
}

// maxDeclaredRows bounds a cookie table.
const maxDeclaredRows = 10000

// ParseDeclaration parses a cookie table. The first row names the columns
// (any case, any order): name (or cookie, or vendor name), category, and
// optionally duration and vendor (a catalogue vendor id); other columns
// (purpose, website) are ignored. Categories are read in the words cookie
// tables use: Essential and Strictly necessary are necessary;
// Functionality and Preference functional; Analytics, Performance and
// Statistics analytics; Targeting, Advertising and Marketing advertising;
// Social media social. Every bad row is reported, each with its line.
func ParseDeclaration(data []byte, name string) (*Declaration, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &DeclarationError{File: name, Line: 1, Msg: "empty: want a header row such as name,category,duration"}
		}
		return nil, &DeclarationError{File: name, Line: 1, Msg: err.Error()}
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		switch h {
		case "name", "cookie", "cookie name", "vendor name", "third party":
			h = "name"
		case "vendor", "vendor id", "vendor_id":
			h = "vendor"
		case "category", "categorie", "type":
			h = "category"
		case "duration", "expiry", "expiration", "lifetime":
			h = "duration"
		}
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	var problems []error
	for _, need := range []string{"name", "category"} {
		if _, ok := col[need]; !ok {
			problems = append(problems, &DeclarationError{File: name, Line: 1, Msg: fmt.Sprintf("no %q column (the header has %q)", need, strings.Join(head, ","))})
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	d := &Declaration{File: name}
	get := func(rec []string, c string) string {
		if i, ok := col[c]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			problems = append(problems, &DeclarationError{File: name, Line: line, Msg: err.Error()})
			break
		}
		row := DeclaredRow{Line: line, Name: get(rec, "name"), Declared: get(rec, "category"),
			Duration: get(rec, "duration"), VendorID: get(rec, "vendor")}
		if row.Name == "" && row.Declared == "" {
			continue // a blank row
		}
		if row.Name == "" {
			problems = append(problems, &DeclarationError{File: name, Line: line, Msg: "no name: give the cookie's or the third party's name"})
			continue
		}
		c, ok := declaredCategory(row.Declared)
		if !ok {
			problems = append(problems, &DeclarationError{File: name, Line: line, Msg: fmt.Sprintf("category %q is not one a cookie table uses (Essential, Functionality, Analytics, Targeting/Advertising, Social media)", row.Declared)})
			continue
		}
		row.Category = c
		if len(d.Rows) >= maxDeclaredRows {
			problems = append(problems, &DeclarationError{File: name, Line: line, Msg: fmt.Sprintf("more than %d rows", maxDeclaredRows)})
			break
		}
		d.Rows = append(d.Rows, row)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return d, nil
}

// declaredWords maps the words cookie tables use for categories.
var declaredWords = map[string]Category{
	"essential": Necessary, "necessary": Necessary, "strictly": Necessary, "required": Necessary, "security": Necessary,
	"functional": Functional, "functionality": Functional, "preference": Functional, "preferences": Functional,
	"personalisation": Functional, "personalization": Functional,
	"analytics": Analytics, "analytical": Analytics, "analyse": Analytics, "analysis": Analytics, "performance": Analytics,
	"statistics": Analytics, "statistical": Analytics, "measurement": Analytics,
	"advertising": Advertising, "targeting": Advertising, "marketing": Advertising, "advertisement": Advertising,
	"ads": Advertising, "retargeting": Advertising,
	"social": Social,
}

// declaredCategory maps a declared category ("Targeting /Advertising") to
// consentgate's: the first word it knows decides.
func declaredCategory(s string) (Category, bool) {
	for _, w := range words(s) {
		if c, ok := declaredWords[w]; ok {
			return c, true
		}
		if c, err := ParseCategory(w); err == nil {
			return c, true
		}
	}
	return 0, false
}

// words returns the lower-case ASCII letter-and-digit runs of s.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// Resolved is a declared row matched to the catalogue.
type Resolved struct {
	DeclaredRow
	// Vendor is the catalogue vendor the row names, or nil.
	Vendor *Vendor
	// How it was matched: "vendor column", "vendor id", "vendor name",
	// "alias" or "cookie"; "" when it was not.
	How string
	// Candidates are the vendor ids a name could mean when it is ambiguous.
	Candidates []string
}

//go:embed declared_names.yaml
var declaredNamesYAML []byte

// declaredNames maps names sites use in cookie tables (lower case, words
// joined by one space) to catalogue vendor ids.
var declaredNames = sync.OnceValue(func() map[string]string {
	var byID map[string][]string
	if err := yaml.Unmarshal(declaredNamesYAML, &byID); err != nil {
		panic(fmt.Sprintf("declared_names.yaml: %v", err))
	}
	m := map[string]string{}
	for id, names := range byID {
		for _, n := range names {
			m[strings.Join(words(n), " ")] = id
		}
	}
	return m
})

// genericWords say what kind of product a vendor name is, not whose: they
// are left out when a declared name is looked for in a vendor's name.
var genericWords = map[string]bool{
	"and": true, "the": true, "tag": true, "pixel": true, "embeds": true, "widgets": true,
	"tracking": true, "consent": true, "cookieless": true, "web": true,
}

// Resolve matches every row to a catalogue vendor of s: the row's vendor
// column; else the name as a vendor id, a vendor's name, or a name sites
// use for it (declared_names.yaml); else the name as a cookie of a vendor.
// A name that fits several vendors ("Adobe") is left unmatched with the
// candidates.
func (d *Declaration) Resolve(s *Set) []Resolved {
	out := make([]Resolved, 0, len(d.Rows))
	for _, row := range d.Rows {
		r := Resolved{DeclaredRow: row}
		switch {
		case row.VendorID != "":
			if r.Vendor = s.VendorByID(row.VendorID); r.Vendor != nil {
				r.How = "vendor column"
			}
		default:
			r.Vendor, r.How, r.Candidates = s.vendorByName(row.Name)
			if r.Vendor == nil && len(r.Candidates) == 0 {
				if v := s.CookieVendor([]byte(row.Name)); v != nil {
					r.Vendor, r.How = v, "cookie"
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// vendorByName finds the vendor a cookie table means by name.
func (s *Set) vendorByName(name string) (*Vendor, string, []string) {
	w := words(name)
	if len(w) == 0 {
		return nil, "", nil
	}
	if v := s.byID[strings.Join(w, "-")]; v != nil {
		return v, "vendor id", nil
	}
	if v := s.byID[strings.Join(w, "")]; v != nil {
		return v, "vendor id", nil
	}
	if id, ok := declaredNames()[strings.Join(w, " ")]; ok {
		if v := s.byID[id]; v != nil {
			return v, "alias", nil
		}
	}
	// The declared words all in a vendor's name ("Eloqua" in "Oracle
	// Eloqua"), or a vendor's own words all in the declared name ("Heap" in
	// "Heap Analytics").
	var cands []*Vendor
	for _, v := range s.vendors {
		vw := words(v.Name)
		if subset(w, vw) || subset(coreWords(v.Name), w) {
			cands = append(cands, v)
		}
	}
	switch len(cands) {
	case 0:
		return nil, "", nil
	case 1:
		return cands[0], "vendor name", nil
	}
	ids := make([]string, len(cands))
	for i, v := range cands {
		ids[i] = v.ID
	}
	sort.Strings(ids)
	return nil, "", ids
}

// coreWords are the words of a vendor name before any parenthesis, less
// generic ones; nil when none is left.
func coreWords(name string) []string {
	if i := strings.IndexByte(name, '('); i >= 0 {
		name = name[:i]
	}
	var out []string
	for _, w := range words(name) {
		if !genericWords[w] {
			out = append(out, w)
		}
	}
	return out
}

// subset reports whether every word of a is in b (a not empty).
func subset(a, b []string) bool {
	if len(a) == 0 {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
