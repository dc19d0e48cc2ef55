package guard

import (
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// FuzzReadReport: any body is read without panic, and what it yields is
// bounded and valid: at most MaxEntries vendors, each once, each one a
// guard on the site could refuse, each count in 1..MaxCount.
func FuzzReadReport(f *testing.F) {
	set, news := testPolicy(f)
	for _, s := range []string{
		"google-analytics=2&hotjar=1", "google%2Danalytics=1", "a=1&&b=2", "=", "x=-1", "x=99999999999999999999",
		"chartbeat=1", "google-analytics=1&google-analytics=2", "%zz=1", "\x00=1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 2*MaxReport {
			return
		}
		blocks, ignored, err := ReadReport(nil, body, set, news)
		if err != nil && len(blocks) > 0 {
			t.Fatalf("error %v with %d entries", err, len(blocks))
		}
		if len(blocks)+ignored > MaxEntries {
			t.Fatalf("%d entries and %d ignored from one report", len(blocks), ignored)
		}
		seen := map[*rules.Vendor]bool{}
		for _, b := range blocks {
			if seen[b.Vendor] || b.Count < 1 || b.Count > MaxCount || news.Allowed(b.Vendor) ||
				!(news.Deny | rules.AllButNecessary).Has(news.Category(b.Vendor)) || set.VendorByID(b.Vendor.ID) != b.Vendor {
				t.Fatalf("invalid entry %s=%d", b.Vendor.ID, b.Count)
			}
			seen[b.Vendor] = true
		}
	})
}
