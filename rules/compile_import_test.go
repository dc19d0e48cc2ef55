package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/lists"
)

// ocdPath finds the Open Cookie Database shared with the project's tests
// (it is not copied into the repository): $CONSENTGATE_OCD, else
// shared/data/ beside the checkout, as developers and CI have it.
func ocdPath() string { return sharedData("CONSENTGATE_OCD", "open-cookie-database.csv") }

func TestImportOpenCookieDatabase(t *testing.T) {
	f, err := os.Open(ocdPath())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs the Open Cookie Database (how to get it: .ci/run): %v", err)
		}
		t.Skipf("no Open Cookie Database (set CONSENTGATE_OCD; how to get it: .ci/run): %v", err)
	}
	defer f.Close()
	vs, st, err := lists.OpenCookieDatabase(f, lists.Options{Licence: "Apache-2.0", Source: "https://github.com/jkwakman/Open-Cookie-Database"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d vendors, %d cookies, %d rows ignored", st.Vendors, st.Cookies, st.Ignored)
	if st.Vendors < 100 || st.Cookies < 1500 {
		t.Errorf("stats = %+v, want at least 100 vendors and 1500 cookies", st)
	}
	var ga *config.Vendor
	for _, v := range vs {
		if v.Name == "Google Analytics" && v.CategoryName == "analytics" {
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
	cfg := config.Default("http://127.0.0.1:1")
	cfg.Imports = []config.Import{{Format: config.FormatOCD, Path: ocdPath(), Licence: "Apache-2.0"}}
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

// importCase is one list compiled after the catalogue.
type importCase struct {
	format, path, category string
}

// checkImportKeepsCatalogue compiles the catalogue with one imported list
// and checks what the list may and may not do: every host it names that a
// catalogue vendor covers (that host or a parent listed by the vendor)
// still resolves to the catalogue vendor with the catalogue's category, and
// so does a subdomain of it; every other host resolves to the list's own
// vendor. It returns how many hosts the list names under catalogue hosts
// with another category, so callers can tell that the list really tried.
func checkImportKeepsCatalogue(t *testing.T, ic importCase) (conflicts int) {
	t.Helper()
	cat, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	owner := make(map[string]*Vendor)
	for _, v := range cat {
		for _, h := range v.Hosts {
			owner[h] = v
		}
	}
	covering := func(h string) *Vendor { return coveringVendor(owner, h) }
	f, err := os.Open(ic.path)
	if err != nil {
		t.Fatal(err)
	}
	listed, _, err := lists.Import(ic.format, f, lists.Options{Category: ic.category})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(ic.path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default("http://127.0.0.1:1")
	cfg.Imports = []config.Import{{Format: ic.format, Path: abs, Category: ic.category, Licence: "test"}}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, lv := range listed {
		for _, h := range lv.Hosts {
			cv := covering(h)
			if cv == nil {
				added++
				if got := s.VendorForHost([]byte(h)); got == nil || got.CategoryName != lv.CategoryName {
					t.Errorf("%s %s: host %s = %s, want the list's %s vendor", ic.format, ic.path, h, idOf(got), lv.CategoryName)
				}
				continue
			}
			if lv.CategoryName != cv.CategoryName {
				conflicts++
			}
			for _, q := range []string{h, "x1." + h} {
				if got := s.VendorForHost([]byte(q)); got == nil || got.ID != cv.ID || got.Category != cv.Category {
					cat := "none"
					if got != nil {
						cat = got.Category.String()
					}
					t.Errorf("%s %s (category %q): %s = %s (%s), want catalogue %s (%s); the list says %s",
						ic.format, ic.path, ic.category, q, idOf(got), cat, cv.ID, cv.Category, lv.CategoryName)
				}
			}
		}
	}
	// No catalogue host, nor a subdomain of one, changes vendor or category.
	for _, cv := range cat {
		for _, h := range cv.Hosts {
			for _, q := range []string{h, "x2." + h} {
				if got := s.VendorForHost([]byte(q)); got == nil || got.ID != cv.ID || got.Category != cv.Category {
					t.Errorf("%s: catalogue host %s = %s, want %s", ic.format, q, idOf(got), cv.ID)
				}
			}
		}
	}
	if added == 0 {
		t.Errorf("%s %s: the list adds no host, so the test cannot tell that imports still work", ic.format, ic.path)
	}
	for _, v := range s.Vendors() {
		if strings.HasPrefix(v.Licence, "test") {
			for _, h := range v.Hosts {
				if cv := covering(h); cv != nil {
					t.Errorf("imported vendor %s still lists %s, which catalogue vendor %s covers", v.ID, h, cv.ID)
				}
			}
		}
	}
	return conflicts
}

// TestImportNeverWeakensCatalogue imports excerpts of the Disconnect,
// DuckDuckGo Tracker Radar and EasyPrivacy lists (testdata/imports/README.md)
// that name catalogue hosts and subdomains of them with other categories,
// such as Disconnect's "Content" (functional) static.chartbeat.com and
// cdn.segment.com: none of them may change what the catalogue says.
func TestImportNeverWeakensCatalogue(t *testing.T) {
	for _, ic := range []importCase{
		{config.FormatDisconnect, "testdata/imports/disconnect-services.json", ""},
		{config.FormatTDS, "testdata/imports/tds.json", ""},
		{config.FormatABP, "testdata/imports/easyprivacy.txt", ""},
		// A category override is the easiest way to weaken everything.
		{config.FormatABP, "testdata/imports/easyprivacy.txt", "functional"},
		{config.FormatDisconnect, "testdata/imports/disconnect-services.json", "necessary"},
		{config.FormatTDS, "testdata/imports/tds.json", "functional"},
	} {
		if n := checkImportKeepsCatalogue(t, ic); n == 0 {
			t.Errorf("%s %s (category %q): no host conflicts with the catalogue; the fixture tests nothing", ic.format, ic.path, ic.category)
		}
	}
}

// TestImportRealListsNeverWeakenCatalogue does the same with whole lists:
// EasyPrivacy and EasyList as Debian's uBlock Origin package installs them
// (CI installs it), and the Disconnect services.json and Tracker Radar
// tds.json files that $CONSENTGATE_DISCONNECT and $CONSENTGATE_TDS name
// (their licence, CC BY-NC-SA 4.0, keeps them out of the repository).
func TestImportRealListsNeverWeakenCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("whole lists are slow in -short mode")
	}
	easy := "/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist/"
	for _, ic := range []importCase{
		{config.FormatABP, easy + "easyprivacy.txt", ""},
		{config.FormatABP, easy + "easyprivacy.txt", "functional"},
		{config.FormatABP, easy + "easylist.txt", "necessary"},
	} {
		if _, err := os.Stat(ic.path); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI needs EasyPrivacy and EasyList (Debian package webext-ublock-origin-chromium): %v", err)
			}
			t.Skipf("no EasyList (install webext-ublock-origin-chromium): %v", err)
		}
		t.Logf("%s (%s): %d hosts conflict with the catalogue", ic.path, ic.category, checkImportKeepsCatalogue(t, ic))
	}
	for _, ic := range []importCase{
		{config.FormatDisconnect, os.Getenv("CONSENTGATE_DISCONNECT"), ""},
		{config.FormatTDS, os.Getenv("CONSENTGATE_TDS"), ""},
	} {
		if ic.path == "" {
			t.Logf("%s: not checked; set $CONSENTGATE_DISCONNECT or $CONSENTGATE_TDS to the whole list", ic.format)
			continue
		}
		t.Logf("%s: %d hosts conflict with the catalogue", ic.path, checkImportKeepsCatalogue(t, ic))
	}
}

func TestImportConflictsReported(t *testing.T) {
	s := compileYAML(t, `
upstream: http://127.0.0.1:8080
imports:
  - {format: disconnect, path: testdata/imports/disconnect-services.json, licence: test fixture}
`)
	st := s.Imports()[0]
	byHost := make(map[string]ImportConflict)
	for _, c := range st.Conflicts {
		byHost[c.Host] = c
	}
	for _, want := range []ImportConflict{
		{Host: "static.chartbeat.com", Listed: "functional", Vendor: "chartbeat", Category: "analytics"},
		{Host: "cdn.segment.com", Listed: "functional", Vendor: "segment", Category: "analytics"},
		{Host: "stripe.network", Listed: "advertising", Vendor: "stripe", Category: "necessary", Stricter: true},
		{Host: "intercom.io", Listed: "advertising", Vendor: "intercom", Category: "functional", Stricter: true},
	} {
		if got := byHost[want.Host]; got != want {
			t.Errorf("conflict %s = %+v, want %+v", want.Host, got, want)
		}
	}
	if st.Covered < len(st.Conflicts) || st.Hosts == 0 {
		t.Errorf("stats = covered %d, hosts %d, %d conflicts", st.Covered, st.Hosts, len(st.Conflicts))
	}
	// check warns once per import, naming what the list rates stricter.
	ws := s.Warnings()
	if len(ws) != 1 || ws[0].Field != "imports[0]" || ws[0].Line != 4 || !strings.Contains(ws[0].Msg, "stricter") || !strings.Contains(ws[0].Msg, "vendor_categories") {
		t.Errorf("warnings = %+v, want one on imports[0], line 4, about stricter hosts", ws)
	}
}

func TestCategoryStricter(t *testing.T) {
	f := func(c, d Category, want bool) {
		t.Helper()
		if got := c.Stricter(d); got != want {
			t.Errorf("%s.Stricter(%s) = %v, want %v", c, d, got, want)
		}
	}
	f(Functional, Necessary, true)
	f(Analytics, Functional, true)
	f(Advertising, Necessary, true)
	f(Necessary, Functional, false)
	f(Functional, Social, false)
	f(Advertising, Analytics, false) // equally strict: a site's deny list tells them apart
	f(Social, Advertising, false)
	f(Analytics, Analytics, false)
}
