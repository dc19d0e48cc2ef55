package rewrite

import (
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// vendorID is the ID of v, or "" for nil.
func vendorID(v *rules.Vendor) string {
	if v == nil {
		return ""
	}
	return v.ID
}

// TestClassifier classifies attribute values as the decider hands them
// over: a URL (cleaned first), a list (srcset, ping) and the first bytes
// of a long URL; every value twice, so that the second answer comes from
// the host cache.
func TestClassifier(t *testing.T) {
	var cl classifier
	cl.reset(compilePolicy(optOut(t, false)))
	const ga = "google-analytics"
	for _, tc := range []struct {
		val  string
		want string
	}{
		{"https://www.google-analytics.com/collect?v=1", ga},
		{"//www.google-analytics.com/analytics.js", ga},
		{"HTTPS://WWW.GOOGLE-ANALYTICS.COM/", ga},
		{"https:www.google-analytics.com/x", ga},
		{"https:&#x2F;&#x2F;www.google-analytics.com/x", ga},
		{"ht\ttps://www.google-analytics.com/x", ga},
		{`https:\\www.google-analytics.com\x`, ga},
		{"https://www.google%2Danalytics.com/x", ga},
		{" \x01https://www.google-analytics.com", ga},
		{"https://cdn.example.com/app.js", ""},
		{"/collect?u=https://www.google-analytics.com/", ""},
		{"img/www.google-analytics.com.png", ""},
		{"", ""},
	} {
		for range 2 {
			if got := vendorID(cl.classify(cl.clean([]byte(tc.val), false))); got != tc.want {
				t.Errorf("classify(clean(%q)) = %q, want %q", tc.val, got, tc.want)
			}
		}
	}
	for _, tc := range []struct {
		val    string
		srcset bool
		want   string
	}{
		{"a.jpg 1x, https://www.google-analytics.com/b.jpg 2x", true, ga},
		{"https://x.example/a.jpg,https://www.google-analytics.com/b.jpg", true, ""}, // one URL: no white space after the comma
		{"a.jpg 480w, b.jpg 800w", true, ""},
		{"a.jpg 1x,&#x20;//www.google-analytics.com/b.jpg 2x", true, ga},
		{"https://a.example/p https://www.google-analytics.com/p", false, ga},
		{"https://a.example/p,https://www.google-analytics.com/p", false, ""},
	} {
		for range 2 {
			if got := vendorID(cl.classifyList([]byte(tc.val), tc.srcset)); got != tc.want {
				t.Errorf("classifyList(%q, %v) = %q, want %q", tc.val, tc.srcset, got, tc.want)
			}
		}
	}
	for _, tc := range []struct {
		prefix string
		want   string
		known  bool
	}{
		{"https://www.google-analytics.com/collect?v=1&x=", ga, true},
		{"https://cdn.example.com/a", "", true},
		{"https://www.google-analytics.co", "", false},
		{"data:image/png;base64,AAAAAAAAAAAAAAAA", "", true},
		{"//", "", false},
		{"images/a", "", false},
		{"images/aaaaaaaaaaaaaaaaaaaaaaaa/", "", false},
	} {
		v, known := cl.urlPrefix(cl.clean([]byte(tc.prefix), false))
		if vendorID(v) != tc.want || known != tc.known {
			t.Errorf("urlPrefix(%q) = %q, %v; want %q, %v", tc.prefix, vendorID(v), known, tc.want, tc.known)
		}
	}
}
