package lists

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

// importFile imports the list at path as format and checks that every
// vendor it became is valid.
func importFile(t *testing.T, format string, opt Options, path string) ([]*config.Vendor, Stats) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vs, st, err := Import(format, f, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if probs := v.Check(); len(probs) > 0 {
			t.Errorf("imported vendor %s: %+v", v.ID, probs)
		}
	}
	return vs, st
}

// checkVendors compares vendors with want: id → "category:host,host".
func checkVendors(t *testing.T, vs []*config.Vendor, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, v := range vs {
		got[v.ID] = v.CategoryName + ":" + strings.Join(v.Hosts, ",")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("vendors = %v\nwant %v", got, want)
	}
}

func TestABP(t *testing.T) {
	vs, st := importFile(t, config.FormatABP, Options{ID: "easy", Licence: "GPL-3.0"}, "../testdata/good/easy.txt")
	if len(vs) != 1 || vs[0].ID != "easy" || vs[0].CategoryName != "advertising" || vs[0].Licence != "GPL-3.0" {
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

// TestGroupedLists imports the lists whose vendors are grouped by owner
// and category.
func TestGroupedLists(t *testing.T) {
	for _, c := range []struct {
		format, path, licence string
		want                  map[string]string
		ignored               int
	}{
		{config.FormatDisconnect, "../testdata/good/services.json", "GPL-3.0", map[string]string{
			"disconnect-ad-corp.advertising": "advertising:adcorp.example,adcorp-cdn.example",
			"disconnect-ad-corp.social":      "social:adcorp-social.example",
			"disconnect-pixel-co":            "advertising:pixelco.example",
			"disconnect-stats-inc":           "analytics:stats.example",
			"disconnect-video-host":          "functional:videohost.example",
		}, 2}, // the Unknowable category and the public suffix co.uk
		{config.FormatTDS, "../testdata/good/tds.json", "CC BY-NC-SA 4.0", map[string]string{
			"tds-beacon.advertising": "advertising:beacon-ads.example",
			"tds-beacon.analytics":   "analytics:beacon.example",
			"tds-share-ltd":          "social:share.example",
			"tds-noowner-example":    "advertising:noowner.example",
		}, 1}, // default ignore
	} {
		vs, st := importFile(t, c.format, Options{Licence: c.licence}, c.path)
		checkVendors(t, vs, c.want)
		if st.Ignored != c.ignored {
			t.Errorf("%s: ignored = %d, want %d", c.format, st.Ignored, c.ignored)
		}
		for _, v := range vs {
			if v.Licence != c.licence {
				t.Errorf("%s: vendor %s has licence %q", c.format, v.ID, v.Licence)
			}
		}
	}
}

// TestCategoryOverride: a category name overrides the list's own (any
// case); anything else is ignored.
func TestCategoryOverride(t *testing.T) {
	vs, _ := importFile(t, config.FormatTDS, Options{Category: "Functional"}, "../testdata/good/tds.json")
	checkVendors(t, vs, map[string]string{
		"tds-beacon":          "functional:beacon-ads.example,beacon.example",
		"tds-share-ltd":       "functional:share.example",
		"tds-noowner-example": "functional:noowner.example",
	})
	vs, _ = importFile(t, config.FormatABP, Options{Category: "trackers"}, "../testdata/good/easy.txt")
	if len(vs) != 1 || vs[0].CategoryName != "advertising" {
		t.Errorf("ABP list with category %q: %+v, want advertising", "trackers", vs)
	}
}

func TestErrors(t *testing.T) {
	for _, name := range config.Formats {
		if name == config.FormatABP {
			continue // any text is an ABP list
		}
		if _, _, err := Import(name, strings.NewReader("not a list"), Options{}); err == nil {
			t.Errorf("%s: garbage accepted", name)
		}
	}
	if _, _, err := Import("hosts", strings.NewReader("0.0.0.0 tracker.example"), Options{}); err == nil {
		t.Error("unknown format accepted")
	}
}
