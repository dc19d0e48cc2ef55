package rules

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// check reads and compiles a config file.
func check(path string) (*Set, error) {
	cfg, err := config.Read(path)
	if err != nil {
		return nil, err
	}
	return Compile(cfg)
}

func TestGoodConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d good configs", len(files))
	}
	for _, f := range files {
		s, err := check(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(s.Sites()) == 0 || s.Version() == "" {
			t.Errorf("%s: no sites or no version", f)
		}
	}
}

func TestFullConfigValues(t *testing.T) {
	s, err := check("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shop := s.Site([]byte("WWW.Shop.Example:443"))
	if shop == nil || shop.Name != "shop" {
		t.Fatalf("Site = %v, want shop", shop)
	}
	if other := s.Site([]byte("elsewhere.example")); other == nil || other.Name != "everything-else" {
		t.Errorf("catch-all = %v", other)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"upstream", shop.Upstream.String(), "https://origin.shop.example"},
		{"optout cookie", shop.OptOutCookie + "=" + shop.OptOutValue, "shop_dns=yes"},
		{"deny", shop.Deny, Of(Advertising, Social)},
		{"advertising action", shop.Actions[Advertising], Neutralise},
		{"analytics action", shop.Actions[Analytics], Remove},
		{"dnt", shop.DNT, true},
		{"shadow", shop.Shadow, true},
		{"prefix", shop.Prefix, "/_cg/"},
		{"guard", shop.Guard, GuardInline},
		{"placeholders", shop.Placeholders, true},
		{"placeholder text", shop.PlaceholderText, "This {name} {kind} would send data to {company}."},
		{"placeholder button", shop.PlaceholderButton, "Play the {kind}"},
		{"optout confirmation", shop.OptOutConfirmation, false},
		{"optout text", shop.OptOutText, "Saved: no sale or sharing."},
		{"gpc notice", shop.GPCNotice, true},
		{"gpc notice text", shop.GPCNoticeText, "Your GPC signal was honoured."},
		{"country header", shop.CountryHeader, "CF-IPCountry"},
		{"opt-in DE", shop.OptInCountries["DE"], true},
		{"opt-in IT", shop.OptInCountries["IT"], false},
		{"onetrust SPD_BG", shop.OneTrustGroups["SPD_BG"], Advertising},
		{"tcf", len(shop.TCFVendors), 2},
		{"vendor category", shop.Category(s.VendorByID("pendo")), Advertising},
		{"vendor category warned", len(s.Warnings()), 1}, // x-embeds: social made functional
		{"keep_scripts", shop.KeepScripts.Len(), 3},
		{"keep id", shop.KeepScripts.IDs[0], "site-bootstrap"},
		{"keep class", shop.KeepScripts.Classes[0], "keep-me"},
		{"keep sha256", fmt.Sprintf("%x", shop.KeepScripts.SHA256[0][:4]), "9f86d081"},
		{"acme host", idOf(s.VendorForHost([]byte("pixel.acme-ads.example"))), "acme-pixel"},
		{"acme cookie", idOf(s.CookieVendor([]byte("acme_seg_42"))), "acme-pixel"},
		{"hotjar replaced", s.VendorByID("hotjar").Category, Functional},
		{"hotjar keeps position", s.VendorByID("hotjar").Index(), catalogueIndex(t, "hotjar")},
		{"first party", idOf(s.Classify(shop, []byte("shop-static.example.net"))), "<nil>"},
		{"allowed stripe", idOf(s.Classify(shop, []byte("js.stripe.com"))), "<nil>"},
		{"abp host", idOf(s.VendorForHost([]byte("x.tracker-four.example"))), "easy"},
		{"abp keeps catalogue host", idOf(s.VendorForHost([]byte("googletagmanager.com"))), "google-tag-manager"},
		{"disconnect", idOf(s.VendorForHost([]byte("adcorp-cdn.example"))), "disconnect-ad-corp.advertising"},
		{"tds", idOf(s.VendorForHost([]byte("beacon-ads.example"))), "tds-beacon.advertising"},
		{"imports", len(s.Imports()), 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	s, err := Compile(config.Default("http://127.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	site := s.Site([]byte("anything.example"))
	if site == nil || site.Name != "default" || site.Deny != DefaultDeny {
		t.Fatalf("default site = %+v", site)
	}
	if _, err := Compile(config.Default("")); err == nil {
		t.Error("empty upstream accepted")
	}
}

func TestSiteLookupPrecedence(t *testing.T) {
	cfg, err := config.Parse([]byte(`
upstream: http://127.0.0.1:8080
sites:
  - {name: any, hosts: ["*"]}
  - {name: wide, hosts: ["*.example.com"]}
  - {name: narrow, hosts: ["*.shop.example.com"]}
  - {name: exact, hosts: [www.shop.example.com, localhost]}
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"www.shop.example.com": "exact",
		"WWW.SHOP.EXAMPLE.COM": "exact",
		"localhost:8080":       "exact",
		"a.shop.example.com":   "narrow",
		"shop.example.com":     "narrow",
		"example.com.":         "wide",
		"b.example.com":        "wide",
		"example.org":          "any",
		"":                     "any",
		"[::1]:8080":           "any",
	} {
		if got := s.Site([]byte(host)); got == nil || got.Name != want {
			t.Errorf("Site(%q) = %v, want %s", host, got, want)
		}
	}
}

// catalogueIndex is the position of vendor id in the built-in catalogue.
func catalogueIndex(t *testing.T, id string) int {
	t.Helper()
	cat, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range cat {
		if v.ID == id {
			return i
		}
	}
	t.Fatalf("no vendor %s in the catalogue", id)
	return -1
}

func TestGuardModeDefault(t *testing.T) {
	s := testSet(t)
	for _, site := range s.Sites() {
		if site.Guard != GuardExternal {
			t.Errorf("site %s: guard = %v, want external by default", site.Name, site.Guard)
		}
	}
	for _, m := range []GuardMode{GuardExternal, GuardInline, GuardOff} {
		got, err := ParseGuardMode(strings.ToUpper(m.String()))
		if err != nil || got != m {
			t.Errorf("ParseGuardMode(%q) = %v, %v", strings.ToUpper(m.String()), got, err)
		}
	}
}

// TestCompileLeavesConfigUnchanged: compiling a config neither normalises
// nor fills in its vendors (it did: each compile set their category and
// index, so two sets compiled from one config shared vendors).
func TestCompileLeavesConfigUnchanged(t *testing.T) {
	data, err := os.ReadFile("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := config.Parse(data, "testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := config.Parse(data, "testdata/good/full.yaml")
	s1, err := Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("Compile changed the config: vendors[0] %+v, was %+v", *a.Vendors[0], *b.Vendors[0])
	}
	s2, err := Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	if v1, v2 := s1.VendorByID("acme-pixel"), s2.VendorByID("acme-pixel"); v1 == v2 {
		t.Error("two sets compiled from one config share a vendor")
	}
}
