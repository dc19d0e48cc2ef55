package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// seedPolicy finds the seed cookie policy shared with the project's tests
// (shared/seeds/000_*.txt beside the checkout; not copied into the
// repository), or $CONSENTGATE_SEED.
func seedPolicy(t *testing.T) []byte {
	t.Helper()
	path := os.Getenv("CONSENTGATE_SEED")
	if path == "" {
		m, _ := filepath.Glob(filepath.Join("..", "..", "shared", "seeds", "000_*.txt"))
		if len(m) > 0 {
			path = m[0]
		}
	}
	b, err := os.ReadFile(path)
	if err != nil || path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs the seed cookie policy (shared/seeds/000_*.txt; see .ci/run): %v", err)
		}
		t.Skipf("no seed cookie policy in ../../shared/seeds (set CONSENTGATE_SEED; see .ci/run): %v", err)
	}
	return b
}

// seedRow is one row of the seed policy's cookie table.
type seedRow struct {
	sites, rest, category string
}

var (
	// The first column: "All Websites" or site names joined by ", " and " & ".
	reSeedSites = regexp.MustCompile(`^(All Websites|www\.[a-z]+\.com(?:\.ru)?(?:(?:, | & )www\.[a-z]+\.com(?:\.ru)?)*)`)
	// The last column, the site's category.
	reSeedCategory = regexp.MustCompile(`(Analyse|Functionality/Preference|Targeting ?/ ?Advertising|Essential)$`)
)

// seedTable parses the table "List of Cookies used on the Websites": a
// header line, then one line per cookie whose columns are run together
// (site names, cookie or vendor name, purpose, duration, category).
func seedTable(t *testing.T, text []byte) []seedRow {
	t.Helper()
	lines := strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "List of Cookies used on the Websites") {
			start = i
			break
		}
	}
	head := start + 1
	for head < len(lines) && strings.TrimSpace(lines[head]) == "" {
		head++
	}
	if start < 0 || head >= len(lines) || !strings.HasPrefix(lines[head], "Website Name(s)") {
		t.Fatal("seed policy: no table \"List of Cookies used on the Websites\" with its header")
	}
	var rows []seedRow
	for _, l := range lines[head+1:] {
		l = strings.TrimSpace(l)
		if l == "" {
			break
		}
		sm := reSeedSites.FindString(l)
		cm := reSeedCategory.FindString(l)
		if sm == "" || cm == "" {
			t.Errorf("seed policy: cannot read table row %q", l)
			continue
		}
		rows = append(rows, seedRow{sites: sm, rest: l[len(sm) : len(l)-len(cm)], category: cm})
	}
	return rows
}

// seedVendors maps each third party the seed table names to the catalogue
// vendor that covers it. The table runs the name and the purpose together,
// so a row belongs to the longest name here that starts it.
var seedVendors = map[string]string{
	"Google Analytics":           "google-analytics",
	"Heap Analytics":             "heap",
	"Vimeo":                      "vimeo",
	"Google":                     "google-sign-in", // "Google Account – SSO"
	"Capterra":                   "capterra",
	"Gauge":                      "gauges",
	"Disqus":                     "disqus",
	"Twitter Advertising":        "x-ads",
	"Clearbit":                   "clearbit",
	"LinkedIn":                   "linkedin-insight",
	"Marin Software":             "marin-software",
	"Facebook":                   "meta-pixel",
	"Yahoo Japan":                "yahoo-japan-ads",
	"Naver":                      "naver-analytics",
	"LiveIntent":                 "liveintent",
	"Bidtellect":                 "bidtellect",
	"AdRoll":                     "adroll",
	"Quantcast":                  "quantcast",
	"Adobe":                      "adobe-advertising", // "capture conversions … to help automate campaigns"
	"Simpli.fi":                  "simplifi",
	"Optimizely":                 "optimizely",
	"Pendo":                      "pendo",
	"Crazy Egg":                  "crazy-egg",
	"Eloqua":                     "eloqua",
	"Facebook Connect":           "meta-pixel", // the JavaScript SDK on connect.facebook.net
	"Doubleclick":                "google-ads",
	"AppNexus":                   "xandr",
	"Google Adwords Conversion":  "google-ads",
	"LiveRamp":                   "liveramp",
	"Bing":                       "microsoft-uet",
	"Google Tag Manager":         "google-tag-manager",
	"Yandex Metrica":             "yandex-metrica",
	"Wistia":                     "wistia",
	"Google Dynamic Remarketing": "google-ads",
	"Facebook Business":          "meta-pixel",
	"Facebook Impression":        "meta-pixel",
	"Cloudflare":                 "cloudflare-turnstile", // its bot-management cookies
}

// seedFirstParty are the rows about the company's own cookies.
var seedFirstParty = []string{"Website Language", "popupHide", "homeType", "_zendesk", "_help_center", "_voice", "_carson"}

// noFirstPartyCookies are seed vendors that set cookies only on their own
// domains: the catalogue blocks those hosts, and no cookie of theirs ever
// reaches the proxy, so there is no name to list.
var noFirstPartyCookies = map[string]string{
	"capterra":   "its tracker sets cookies on capterra.com only",
	"bidtellect": "sets cookies on bttrack.com only",
	"simplifi":   "sets cookies on simpli.fi only",
}

// TestSeedThirdPartiesInCatalogue reads the cookie table of the seed
// cookie policy and checks that every third party it names is a catalogue
// vendor known by its hosts and its cookies.
func TestSeedThirdPartiesInCatalogue(t *testing.T) {
	rows := seedTable(t, seedPolicy(t))
	if len(rows) < 40 {
		t.Fatalf("seed policy: %d table rows, want the whole table (over 40)", len(rows))
	}
	s := testSet(t)
	names := make([]string, 0, len(seedVendors))
	for n := range seedVendors {
		names = append(names, n)
	}
	// Longest first, so "Facebook Connect" wins over "Facebook".
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	seen := make(map[string]bool)
	vendors := make(map[string]bool)
	for _, r := range rows {
		first := false
		for _, p := range seedFirstParty {
			first = first || strings.HasPrefix(r.rest, p)
		}
		if first {
			continue
		}
		name := ""
		for _, n := range names {
			if strings.HasPrefix(r.rest, n) {
				name = n
				break
			}
		}
		if name == "" {
			t.Errorf("seed row %q (%s): a third party the test does not know; map it to its catalogue vendor in seedVendors", r.rest, r.sites)
			continue
		}
		seen[name] = true
		id := seedVendors[name]
		v := s.VendorByID(id)
		if v == nil {
			t.Errorf("seed third party %q: no catalogue vendor %q", name, id)
			continue
		}
		vendors[id] = true
		if len(v.Hosts) == 0 {
			t.Errorf("seed third party %q (%s): the vendor has no hosts", name, id)
		}
		if len(v.Cookies)+len(v.CookiePrefixes) == 0 && noFirstPartyCookies[id] == "" {
			t.Errorf("seed third party %q (%s): the vendor has no cookies", name, id)
		}
	}
	for n := range seedVendors {
		if !seen[n] {
			t.Errorf("seedVendors names %q, which the seed table does not", n)
		}
	}
	t.Logf("%d table rows, %d third-party names, %d catalogue vendors", len(rows), len(seen), len(vendors))
}
