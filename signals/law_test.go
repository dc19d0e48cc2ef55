package signals

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// TestLaws: every GPP US state section has a pack, and every pack cites
// its source (parseLaws checks the rest: dates, opt-outs, https URLs).
func TestLaws(t *testing.T) {
	if _, err := parseLaws(lawsYAML); err != nil {
		t.Fatal(err)
	}
	bySection := map[int]Law{}
	for _, l := range Laws() {
		bySection[l.SectionID] = l
		if !strings.HasPrefix(l.Source, "https://") || l.Name == "" || l.Citation == "" {
			t.Errorf("%s: name %q citation %q source %q", l.State, l.Name, l.Citation, l.Source)
		}
	}
	n := 0
	for i := range usSections {
		sec := &usSections[i]
		if sec.id == sidUSNat || sec.version != 1 {
			continue // usnat is national: no state, no pack
		}
		n++
		l, ok := bySection[sec.id]
		if !ok || l.Section != sec.name {
			t.Errorf("GPP section %s (%d) has no pack", sec.name, sec.id)
			continue
		}
		if got, ok := LawFor(strings.ToLower(l.State)); !ok || got.Section != sec.name {
			t.Errorf("LawFor(%q) = %+v, %v", strings.ToLower(l.State), got, ok)
		}
	}
	if n != 20 || len(Laws()) != n {
		t.Errorf("%d state sections, %d packs; want 20 of each", n, len(Laws()))
	}
	for _, s := range []string{"US-WA", "US-", "DE-BY", "", "US-T1"} {
		if l, ok := LawFor(s); ok {
			t.Errorf("LawFor(%q) = %+v", s, l)
		}
	}
	tx, _ := LawFor("US-TX")
	if !tx.RequiresGPC(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) || tx.RequiresGPC(time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Texas requires GPC from 2025-01-01: %+v", tx)
	}
	if va, _ := LawFor("US-VA"); va.RequiresGPC(time.Now()) {
		t.Errorf("Virginia does not require GPC")
	}
}

func TestParseLawsErrors(t *testing.T) {
	const good = `
laws:
  - state: US-TX
    section: ustx
    section_id: 16
    name: Texas Data Privacy and Security Act
    citation: Tex. Bus. & Com. Code ch. 541
    source: https://statutes.capitol.texas.gov/Docs/BC/htm/BC.541.htm
    effective: "2024-07-01"
    opt_outs: [targeted_advertising, sale, profiling]
    sensitive_data: consent
    universal_opt_out: true
    universal_opt_out_from: "2025-01-01"
`
	if _, err := parseLaws([]byte(good)); err != nil {
		t.Fatalf("good: %v", err)
	}
	tests := []struct{ name, from, to, want string }{
		{"unknown key", "    name:", "    nmae:", "nmae"},
		{"state", "US-TX", "TX", "not a US state code"},
		{"section", "section_id: 16", "section_id: 7", "not a GPP US state section"},
		{"section name", "section: ustx", "section: usca", "not a GPP US state section"},
		{"no source", "    source: https://statutes.capitol.texas.gov/Docs/BC/htm/BC.541.htm\n", "", "source \"\" is not an https URL"},
		{"http source", "https://statutes", "http://statutes", "is not an https URL"},
		{"date", `"2024-07-01"`, `"July 2024"`, "effective"},
		{"opt-out", "profiling]", "profilng]", `opt-out "profilng"`},
		{"repeated opt-out", "profiling]", "sale]", `opt-out "sale" is unknown or repeated`},
		{"sensitive", "sensitive_data: consent", "sensitive_data: yes", "sensitive_data"},
		{"uoom date", `universal_opt_out_from: "2025-01-01"`, `universal_opt_out_from: ""`, "universal_opt_out_from"},
		{"uoom date without uoom", "universal_opt_out: true", "universal_opt_out: false", "without universal_opt_out"},
	}
	for _, tt := range tests {
		in := strings.Replace(good, tt.from, tt.to, 1)
		if in == good {
			t.Fatalf("%s: %q not in the good file", tt.name, tt.from)
		}
		_, err := parseLaws([]byte(in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := parseLaws([]byte(good + strings.SplitN(good, "laws:\n", 2)[1])); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a state twice: %v", err)
	}
}

func TestParseStateAndCountry(t *testing.T) {
	us, de := [2]byte{'U', 'S'}, [2]byte{'D', 'E'}
	tests := []struct {
		in      string
		cc      [2]byte
		ccKnown bool
		want    string
	}{
		{"US-TX", us, true, "TX"},
		{"us-tx", [2]byte{}, false, "TX"},
		{" US-CA ", us, true, "CA"},
		{"TX", us, true, "TX"},
		{"tx", us, true, "TX"},
		{"TX", [2]byte{}, false, ""}, // a bare code needs the country
		{"BY", de, true, ""},         // Bavaria
		{"US-TX", de, true, ""},      // contradicts the country
		{"DE-BY", de, true, ""},
		{"US-T1", us, true, ""},
		{"USTX", us, true, ""},
		{"", us, true, ""},
	}
	for _, tt := range tests {
		st, ok := parseState([]byte(tt.in), tt.cc, tt.ccKnown)
		if got := string(st[:]); ok != (tt.want != "") || ok && got != tt.want {
			t.Errorf("parseState(%q, %s, %v) = %q, %v; want %q", tt.in, tt.cc[:], tt.ccKnown, got, ok, tt.want)
		}
	}
	for in, want := range map[string]string{"US-TX": "US", "de-by": "DE", "FR-75C": "FR", "US": "US", "US-": "", "US-TOOLONG": ""} {
		cc, ok := parseCountry([]byte(in))
		if got := string(cc[:]); ok != (want != "") || ok && got != want {
			t.Errorf("parseCountry(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// encodeUS encodes a US section from its table in gppus.go: Version (or
// MspaVersion) 1, the named fields set, every other field 0; gpc appends
// a GPC sub-section ("" none, "Y" true, "N" false). For decision tests:
// the layouts themselves are checked against the specifications
// elsewhere.
func encodeUS(t testing.TB, id int, set map[string]int, gpc string) string {
	t.Helper()
	sec, _ := usSectionFor(id, 1)
	if sec == nil {
		t.Fatalf("no section %d", id)
	}
	var f [][2]int
	for _, fl := range sec.fields {
		v := set[fl.name]
		if fl.role == roleVersion {
			v = 1
		}
		for j := 0; j < max(int(fl.n), 1); j++ {
			f = append(f, [2]int{int(fl.bits), v})
		}
	}
	s := encodeFields(f...)
	switch gpc {
	case "Y":
		s += ".YA"
	case "N":
		s += ".QA"
	}
	return s
}

func TestGoverningSection(t *testing.T) {
	site := testSite()
	site.StateHeader = "X-Region"
	plain := testSite()

	usca := func(sale int, gpc string) string {
		return encodeUS(t, 8, map[string]int{"SaleOptOutNotice": 1, "SaleOptOut": sale, "SharingOptOut": 2}, gpc)
	}
	ustx := func(sale int, gpc string) string {
		return encodeUS(t, 16, map[string]int{"SaleOptOutNotice": 1, "SaleOptOut": sale, "TargetedAdvertisingOptOut": 2}, gpc)
	}
	usnat := func(sale int) string {
		return encodeUS(t, 7, map[string]int{"SaleOptOut": sale, "SharingOptOut": 2, "TargetedAdvertisingOptOut": 2}, "N")
	}
	gpp := func(ids []int, parts ...string) string {
		return "__gpp=" + gppHeader(ids...) + "~" + strings.Join(parts, "~")
	}
	caOutTxIn := gpp([]int{8, 16}, usca(1, ""), ustx(2, "N"))
	tests := []struct {
		name      string
		site      *rules.Site
		lines     string
		optedOut  bool
		sources   Source
		state     string // law.state in Explain; "" none
		decidedBy string
		gpc       string
	}{
		{"no option: any section opts out", plain, "X-Region: US-TX\r\n" + cookie(caOutTxIn), true, GPP, "", "", ""},
		{"texas: ustx governs, usca ignored", site, "X-Region: US-TX\r\n" + cookie(caOutTxIn), false, 0, "US-TX", "ustx", ""},
		{"california: usca governs", site, "X-Region: US-CA\r\n" + cookie(caOutTxIn), true, GPP, "US-CA", "usca", ""},
		{"texas: ustx opts out", site, "X-Region: US-TX\r\n" + cookie(gpp([]int{8, 16}, usca(2, ""), ustx(1, ""))), true, GPP, "US-TX", "ustx", ""},
		{"texas: usnat governs when no ustx", site, "X-Region: US-TX\r\n" + cookie(gpp([]int{7, 8}, usnat(2), usca(1, ""))), false, 0, "US-TX", "usnat", ""},
		{"texas: usnat opts out", site, "X-Region: US-TX\r\n" + cookie(gpp([]int{7, 8}, usnat(1), usca(2, ""))), true, GPP, "US-TX", "usnat", ""},
		{"texas: neither section, any counts", site, "X-Region: US-TX\r\n" + cookie(gpp([]int{8}, usca(1, ""))), true, GPP, "US-TX", "any", ""},
		{"texas: GPC sub-section elsewhere counts", site, "X-Region: US-TX\r\n" + cookie(gpp([]int{8, 16}, usca(2, "Y"), ustx(2, "N"))), true, GPP, "US-TX", "ustx", "required"},
		{"texas: uspv1 Y counts", site, "X-Region: US-TX\r\n" + cookie(gpp([]int{6, 16}, "1YYN", ustx(2, ""))), true, GPP, "US-TX", "ustx", ""},
		{"texas: Sec-GPC required", site, "Sec-GPC: 1\r\nX-Region: US-TX\r\n", true, GPC, "US-TX", "", "required"},
		{"virginia: Sec-GPC honoured by policy", site, "Sec-GPC: 1\r\nX-Region: US-VA\r\n", true, GPC, "US-VA", "", "policy"},
		{"washington: no pack, any counts", site, "X-Region: US-WA\r\n" + cookie(caOutTxIn), true, GPP, "US-WA", "", ""},
		{"bare code with country US", site, "CF-IPCountry: US\r\nX-Region: TX\r\n" + cookie(caOutTxIn), false, 0, "US-TX", "ustx", ""},
		{"bare code without country", site, "X-Region: TX\r\n" + cookie(caOutTxIn), true, GPP, "", "", ""},
		{"bare code, country DE", site, "CF-IPCountry: DE\r\nX-Region: BY\r\n" + cookie(caOutTxIn), true, GPP | Region, "", "", ""},
		{"US-TX contradicting country", site, "CF-IPCountry: CA\r\nX-Region: US-TX\r\n" + cookie(caOutTxIn), true, GPP, "", "", ""},
		{"two state headers", site, "X-Region: US-TX\r\nX-Region: US-CA\r\n" + cookie(caOutTxIn), true, GPP, "", "", ""},
		{"lower case header and value", site, "x-region: us-tx\r\n" + cookie(caOutTxIn), false, 0, "US-TX", "ustx", ""},
	}
	r := newTestReader(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for pass := 0; pass < 2; pass++ {
				h := header(t, tt.lines)
				c := r.Read(PolicyOf(tt.site), h)
				var denied rules.Categories
				if tt.optedOut {
					denied = rules.DefaultDeny
				}
				if tt.sources&Region != 0 {
					denied = rules.AllButNecessary
				}
				if c.OptedOut != tt.optedOut || c.Sources != tt.sources || c.Denied != denied || c.Errors != 0 {
					t.Fatalf("pass %d: opted_out=%v sources=%v denied=%v errors=%v; want %v %v %v",
						pass, c.OptedOut, c.Sources.Names(), c.Denied, c.Errors.Names(), tt.optedOut, tt.sources.Names(), denied)
				}
				e := r.Explain(PolicyOf(tt.site), h)
				if e.Consent != c {
					t.Errorf("Explain decided %+v, Read %+v", e.Consent, c)
				}
				if tt.state == "" {
					if e.Law != nil {
						t.Errorf("law %+v, want none", e.Law)
					}
				} else if e.Law == nil || e.Law.State != tt.state || e.Law.DecidedBy != tt.decidedBy || e.Law.GPC != tt.gpc {
					t.Errorf("law %+v, want state %s decided_by %q gpc %q", e.Law, tt.state, tt.decidedBy, tt.gpc)
				}
				r.cache.c.Wait()
			}
		})
	}

	// The JSON that explain and the status endpoint print.
	e := r.Explain(PolicyOf(site), header(t, "Sec-GPC: 1\r\nX-Region: US-TX\r\n"+cookie(caOutTxIn)))
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Law map[string]any `json:"law"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"state": "US-TX", "from": "header", "section": "ustx", "section_id": float64(16),
		"name": "Texas Data Privacy and Security Act", "source": "https://statutes.capitol.texas.gov/Docs/BC/htm/BC.541.htm",
		"universal_opt_out": true, "universal_opt_out_from": "2025-01-01", "decided_by": "ustx", "gpc": "required",
	} {
		if got.Law[k] != want {
			t.Errorf("law.%s = %v, want %v (%s)", k, got.Law[k], want, b)
		}
	}
}

// TestGoverningSectionOneHeader: one trusted header gives both the
// country and the state.
func TestGoverningSectionOneHeader(t *testing.T) {
	site := testSite()
	site.CountryHeader, site.StateHeader = "X-Region", "X-Region"
	r := newTestReader(t, Options{})
	caOut := encodeUS(t, 8, map[string]int{"SaleOptOut": 1}, "")
	txIn := encodeUS(t, 16, map[string]int{"SaleOptOut": 2}, "")
	h := header(t, "X-Region: US-TX\r\n"+cookie("__gpp="+gppHeader(8, 16)+"~"+caOut+"~"+txIn))
	if c := r.Read(PolicyOf(site), h); c.OptedOut || c.Mode != ModeOptOut {
		t.Errorf("US-TX: %+v, want opt-out mode, not opted out (ustx governs)", c)
	}
	e := r.Explain(PolicyOf(site), h)
	if e.Law == nil || e.Law.State != "US-TX" || e.Signals.Region == nil || e.Signals.Region.Country != "US" {
		t.Errorf("law %+v region %+v", e.Law, e.Signals.Region)
	}
	if c := r.Read(PolicyOf(site), header(t, "X-Region: DE-BY\r\n")); c.Mode != ModeOptIn {
		t.Errorf("DE-BY: mode %v, want opt-in", c.Mode)
	}
}

var update = flag.Bool("update", false, "rewrite the laws table in docs/signals.md")

// lawsTable is the table of packs in docs/signals.md.
func lawsTable() string {
	var b strings.Builder
	b.WriteString("| State | GPP section | Law | In effect | Opt-outs | Sensitive data | Must honour GPC | Source |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, l := range Laws() {
		uoom := "no"
		if l.UniversalOptOut {
			uoom = "from " + l.UniversalOptOutFrom
			if l.UniversalOptOutSource != "" {
				uoom += " ([rule](" + l.UniversalOptOutSource + "))"
			}
		}
		fmt.Fprintf(&b, "| %s | `%s` (%d) | %s (%s) | %s | %s | %s | %s | [text](%s) |\n",
			l.State, l.Section, l.SectionID, l.Name, l.Citation, l.Effective,
			strings.ReplaceAll(strings.Join(l.OptOuts, ", "), "_", " "),
			strings.ReplaceAll(l.SensitiveData, "_", " "), uoom, l.Source)
	}
	return b.String()
}

// TestLawsDocTable keeps the table in docs/signals.md equal to laws.yaml;
// go test ./signals -run TestLawsDocTable -update rewrites it.
func TestLawsDocTable(t *testing.T) {
	const path = "../docs/signals.md"
	const begin, end = "<!-- laws table: generated from signals/laws.yaml by go test ./signals -run TestLawsDocTable -update -->\n", "<!-- end of laws table -->\n"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no laws table markers", path)
	}
	want := s[:i+len(begin)] + lawsTable() + s[j:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the laws table differs from laws.yaml; run go test ./signals -run TestLawsDocTable -update", path)
}
