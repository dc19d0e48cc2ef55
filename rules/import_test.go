package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func importFile(t *testing.T, fn func(*os.File) ([]*Vendor, ImportStats, error), path string) ([]*Vendor, ImportStats) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vs, st, err := fn(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if probs := v.check(); len(probs) > 0 {
			t.Errorf("imported vendor %s: %+v", v.ID, probs)
		}
	}
	return vs, st
}

func TestImportABP(t *testing.T) {
	vs, st := importFile(t, func(f *os.File) ([]*Vendor, ImportStats, error) {
		return ImportABP(f, ImportOptions{ID: "easy", Licence: "GPL-3.0"})
	}, "testdata/good/easy.txt")
	if len(vs) != 1 || vs[0].ID != "easy" || vs[0].Category != Advertising || vs[0].Licence != "GPL-3.0" {
		t.Fatalf("vendors = %+v", vs)
	}
	want := "tracker-one.example tracker-two.example cdn.tracker-three.example tracker-four.example googletagmanager.com"
	if got := strings.Join(vs[0].Hosts, " "); got != want {
		t.Errorf("hosts = %s\nwant %s", got, want)
	}
	// ads.example/banner/*, *.wild, $script, @@, ##, /adserver/*, co.uk
	if st.Ignored != 7 || st.Hosts != 5 || st.Vendors != 1 {
		t.Errorf("stats = %+v, want 7 ignored, 5 hosts", st)
	}
}

func TestImportDisconnect(t *testing.T) {
	vs, st := importFile(t, func(f *os.File) ([]*Vendor, ImportStats, error) {
		return ImportDisconnect(f, ImportOptions{Licence: "GPL-3.0"})
	}, "testdata/good/services.json")
	got := map[string]string{}
	for _, v := range vs {
		got[v.ID] = v.Category.String() + ":" + strings.Join(v.Hosts, ",")
	}
	want := map[string]string{
		"disconnect-ad-corp.advertising": "advertising:adcorp.example,adcorp-cdn.example",
		"disconnect-ad-corp.social":      "social:adcorp-social.example",
		"disconnect-pixel-co":            "advertising:pixelco.example",
		"disconnect-stats-inc":           "analytics:stats.example",
		"disconnect-video-host":          "functional:videohost.example",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("vendors = %v\nwant %v", got, want)
	}
	if st.Ignored != 2 { // the Unknowable category and the public suffix co.uk
		t.Errorf("ignored = %d, want 2", st.Ignored)
	}
}

func TestImportTDS(t *testing.T) {
	vs, st := importFile(t, func(f *os.File) ([]*Vendor, ImportStats, error) {
		return ImportTDS(f, ImportOptions{Licence: "CC BY-NC-SA 4.0"})
	}, "testdata/good/tds.json")
	got := map[string]string{}
	for _, v := range vs {
		got[v.ID] = v.Category.String() + ":" + strings.Join(v.Hosts, ",")
	}
	want := map[string]string{
		"tds-beacon.advertising": "advertising:beacon-ads.example",
		"tds-beacon.analytics":   "analytics:beacon.example",
		"tds-share-ltd":          "social:share.example",
		"tds-noowner-example":    "advertising:noowner.example",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("vendors = %v\nwant %v", got, want)
	}
	if st.Ignored != 1 {
		t.Errorf("ignored = %d, want 1 (default ignore)", st.Ignored)
	}
}

func TestImportErrors(t *testing.T) {
	for name, fn := range importers {
		if name == FormatABP {
			continue // any text is an ABP list
		}
		if _, _, err := fn(strings.NewReader("not a list"), ImportOptions{}); err == nil {
			t.Errorf("%s: garbage accepted", name)
		}
	}
}

// ocdPath finds the Open Cookie Database shared with the project's tests
// (it is not copied into the repository): $CONSENTGATE_OCD, else
// shared/data/ beside the checkout, as developers and CI have it.
func ocdPath() string {
	if p := os.Getenv("CONSENTGATE_OCD"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "shared", "data", "open-cookie-database.csv")
}

func TestImportOpenCookieDatabase(t *testing.T) {
	f, err := os.Open(ocdPath())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs the Open Cookie Database: %v", err)
		}
		t.Skipf("no Open Cookie Database: %v", err)
	}
	defer f.Close()
	vs, st, err := ImportOpenCookieDatabase(f, ImportOptions{Licence: "Apache-2.0", Source: "https://github.com/jkwakman/Open-Cookie-Database"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d vendors, %d cookies, %d rows ignored", st.Vendors, st.Cookies, st.Ignored)
	if st.Vendors < 100 || st.Cookies < 1500 {
		t.Errorf("stats = %+v, want at least 100 vendors and 1500 cookies", st)
	}
	var ga *Vendor
	for _, v := range vs {
		if v.Name == "Google Analytics" && v.Category == Analytics {
			ga = v
		}
		if v.Licence != "Apache-2.0" || !strings.HasPrefix(v.ID, "ocd-") {
			t.Errorf("vendor %s: licence %q", v.ID, v.Licence)
		}
	}
	// Spot checks against rows of the file.
	if ga == nil || !contains(ga.CookiePrefixes, "_ga_") {
		t.Errorf("ocd-google-analytics = %+v, want a Google Analytics vendor with prefix _ga_", ga)
	}
	// Compiled after the catalogue, the import adds cookies the catalogue
	// lacks and never takes over the catalogue's own.
	cfg := DefaultConfig("http://127.0.0.1:1")
	cfg.Imports = []ImportConfig{{Format: FormatOCD, Path: ocdPath(), Licence: "Apache-2.0"}}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := idOf(s.CookieVendor([]byte("_ga"))); got != "google-analytics" {
		t.Errorf("_ga = %s, want the catalogue's google-analytics", got)
	}
	if got := idOf(s.CookieVendor([]byte("userlang"))); !strings.HasPrefix(got, "ocd-cookiebot") {
		t.Errorf("userlang = %s, want ocd-cookiebot…", got)
	}
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
