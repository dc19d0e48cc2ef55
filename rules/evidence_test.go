package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules/config"
)

func TestEvidenceConfig(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "cookies.csv")
	if err := os.WriteFile(csvPath, []byte("name,category,duration\n_ga,Analytics,2 years\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "consentgate.yaml")
	cfg, err := config.Parse([]byte(`upstream: http://127.0.0.1:3000
receipts:
  dir: /var/lib/consentgate/receipts
  max_file_size: 16MiB
  flush_interval: 2s
sites:
  - name: www
    hosts: ["*.example.com", www.example.com]
    decision_header: true
    declared_cookies: cookies.csv
    canary:
      paths: [/, /pricing]
      interval: 1m
      deny: [advertising]
      allow_vendors: [meta-pixel]
  - name: blog
    hosts: [blog.example.com]
    canary:
      paths: [/]
`), cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Receipts; r.Dir != "/var/lib/consentgate/receipts" || r.MaxFileSize != 16<<20 || time.Duration(r.FlushInterval) != 2*time.Second {
		t.Errorf("receipts %+v", r)
	}
	www, blog := set.Sites()[0], set.Sites()[1]
	if !www.DecisionHeader || blog.DecisionHeader {
		t.Errorf("decision_header: www %v blog %v", www.DecisionHeader, blog.DecisionHeader)
	}
	c := www.Canary
	if c == nil || c.Host != "www.example.com" || strings.Join(c.Paths, " ") != "/ /pricing" || c.Interval != time.Minute || c.Deny != Of(Advertising) {
		t.Fatalf("www canary %+v", c)
	}
	if c.Expects(set.VendorByID("meta-pixel")) || !c.Expects(set.VendorByID("google-ads")) || c.Expects(set.VendorByID("google-analytics")) {
		t.Error("www canary: want google-ads expected gone, meta-pixel allowed, analytics not denied")
	}
	if b := blog.Canary; b == nil || b.Host != "blog.example.com" || b.Interval != DefaultCanaryInterval || b.Deny != DefaultDeny {
		t.Errorf("blog canary defaults %+v", b)
	}
	if d := www.Declared; d == nil || len(d.Rows) != 1 || d.Rows[0].Category != Analytics {
		t.Errorf("declared %+v", d)
	}
}

func TestParseDeclaration(t *testing.T) {
	d, err := ParseDeclaration([]byte("\xef\xbb\xbfWebsite,Cookie Name,Purpose,Duration,Category\n"+
		"www,Google Analytics,\"Counts visits, pages\",2 years,Analytics\n"+
		"www,_zendesk_session,Session,Session,Essential\n"+
		",,,,\n"+
		"www,Twitter Advertising,Advertising,1.5 years,Targeting /Advertising\n"+
		"www,Vimeo,Video,2 years,Functionality/Preference\n"), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d.Rows {
		got = append(got, fmt.Sprintf("%d %s %s %s", r.Line, r.Name, r.Category, r.Duration))
	}
	want := "[2 Google Analytics analytics 2 years 3 _zendesk_session necessary Session 5 Twitter Advertising advertising 1.5 years 6 Vimeo functional 2 years]"
	if fmt.Sprint(got) != want {
		t.Errorf("rows\n got %v\nwant %s", got, want)
	}
	_, err = ParseDeclaration([]byte("name,category\nfoo,Sometimes\n,Essential\nbar,Essential\n"), "bad.csv")
	var de *DeclarationError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "bad.csv:2: category \"Sometimes\"") || !strings.Contains(err.Error(), "bad.csv:3: no name") {
		t.Errorf("bad rows: %v; want each bad row with its line", err)
	}
	if _, err := ParseDeclaration([]byte("cookie,purpose\n_ga,stats\n"), "nocat.csv"); err == nil || !strings.Contains(err.Error(), `no "category" column`) {
		t.Errorf("no category column: %v", err)
	}
	if _, err := ParseDeclaration(nil, "empty.csv"); err == nil {
		t.Error("an empty table is accepted")
	}
}

func TestDeclarationResolve(t *testing.T) {
	set := compileYAML(t, "upstream: http://127.0.0.1:1\n")
	d, err := ParseDeclaration([]byte(`name,category,vendor
Google Analytics,Analytics,
Heap Analytics,Analytics,
Eloqua,Essential,
Facebook Connect,Essential,
Twitter Advertising,Essential,
Simpli.fi,Targeting,
_ga,Analytics,
Adobe,Targeting,
popupHide,Functionality,
Our pixel,Targeting,tiktok-pixel
`), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d.Resolve(set) {
		id := "-"
		if r.Vendor != nil {
			id = r.Vendor.ID
		}
		got = append(got, fmt.Sprintf("%s=%s(%s)%v", r.Name, id, r.How, r.Candidates))
	}
	want := []string{
		"Google Analytics=google-analytics(vendor id)[]",
		"Heap Analytics=heap(vendor name)[]",
		"Eloqua=eloqua(vendor id)[]",
		"Facebook Connect=meta-pixel(alias)[]",
		"Twitter Advertising=x-ads(alias)[]",
		"Simpli.fi=simplifi(vendor id)[]",
		"_ga=google-analytics(cookie)[]",
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("row %d: %s, want %s", i, got[i], w)
		}
	}
	if !strings.HasPrefix(got[7], "Adobe=-()[adobe-") {
		t.Errorf("Adobe: %s, want unmatched with the Adobe vendors as candidates", got[7])
	}
	if got[8] != "popupHide=-()[]" || got[9] != "Our pixel=tiktok-pixel(vendor column)[]" {
		t.Errorf("rows 8, 9: %s %s", got[8], got[9])
	}
}

// TestDeclaredNamesResolve keeps declared_names.yaml in step with the
// catalogue: every id it maps to exists.
func TestDeclaredNamesResolve(t *testing.T) {
	set := compileYAML(t, "upstream: http://127.0.0.1:1\n")
	for name, id := range declaredNames() {
		if set.VendorByID(id) == nil {
			t.Errorf("declared_names.yaml maps %q to %q, which the catalogue does not have", name, id)
		}
	}
}
