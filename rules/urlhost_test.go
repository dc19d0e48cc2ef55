package rules

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/urlhost"
)

// urlForms reads urlhost/testdata/forms.txt: URLs as a browser's URL
// parser reads them, with the host urlhost.Find returns ("-" for none) and
// the vendor Classify gives that host on the shop site ("" for none).
func urlForms(t testing.TB) (forms []struct{ in, host, vendor string }) {
	t.Helper()
	data, err := os.ReadFile("urlhost/testdata/forms.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && l[0] != '#' {
			forms = append(forms, struct{ in, host, vendor string }{})
			c := &forms[len(forms)-1]
			if _, err := fmt.Sscanf(l, "%q %q %q", &c.in, &c.host, &c.vendor); err != nil {
				t.Fatalf("forms.txt: %q: %v", l, err)
			}
		}
	}
	return forms
}

func TestClassifyURLForms(t *testing.T) {
	s := testSet(t)
	site := s.Site([]byte("shop.example"))
	for _, c := range urlForms(t) {
		if got := idOf(s.ClassifyURL(site, []byte(c.in))); got != idOf(s.VendorByID(c.vendor)) {
			t.Errorf("ClassifyURL(%q) = %s, want %q", c.in, got, c.vendor)
		}
		if h := urlhost.Find([]byte(c.in)); len(h) > 0 {
			// Twice: the second answer comes from the lookup cache.
			for range 2 {
				if got := idOf(s.Classify(site, h)); got != idOf(s.VendorByID(c.vendor)) {
					t.Errorf("Classify(%q) = %s, want %q", h, got, c.vendor)
				}
			}
			if got := idOf(s.VendorForHost(h)); got != idOf(s.VendorByID(c.vendor)) {
				t.Errorf("VendorForHost(%q) = %s, want %q", h, got, c.vendor)
			}
		}
	}
}

// TestHostMapping checks the host canonicalisation that every lookup
// shares (Site too), on hosts with a byte >= 0x80, escapes and long forms.
func TestHostMapping(t *testing.T) {
	s := testSet(t)
	for _, c := range []struct{ host, site string }{
		{"ｓｈｏｐ.example", "shop"},
		{"WWW。SHOP。EXAMPLE:8443", "shop"},
		{"%73hop.example", "shop"},
		{"shop.example%E3%80%82", "shop"},
		{"sh\u00adop.example", "shop"},
		{"shop.example\u200d", "other"},
		{"shop.example%", "other"},
	} {
		got := "<nil>"
		if st := s.Site([]byte(c.host)); st != nil {
			got = st.Name
		}
		if got != c.site {
			t.Errorf("Site(%q) = %s, want %s", c.host, got, c.site)
		}
	}
	// Ignorable code points map to nothing, so a long non-ASCII host can
	// still be a short name; an ASCII one that long cannot.
	for _, c := range []struct{ host, vendor string }{
		{"www.face" + strings.Repeat("\u00ad", 2000) + "book.com", "meta-pixel"},
		{"www.face" + strings.Repeat("%C2%AD", 500) + "book.com", "meta-pixel"},
		{strings.Repeat("%61", 300) + ".facebook.com", ""},
		{strings.Repeat("a", 254-len(".facebook.com")) + ".facebook.com", ""},
		{strings.Repeat("a", 253-len(".facebook.com")) + ".facebook.com", "meta-pixel"},
		{strings.Repeat("a", 253-len(".facebook.com")) + ".facebook.com。", "meta-pixel"},
	} {
		if got := idOf(s.VendorForHost([]byte(c.host))); got != idOf(s.VendorByID(c.vendor)) {
			t.Errorf("VendorForHost(%.40q...) = %s, want %q", c.host, got, c.vendor)
		}
	}
}

// TestEscapedASCIIHostsDoNotAllocate: only a host with a byte >= 0x80 may
// allocate; an ASCII one written with escapes is decoded on the stack.
func TestEscapedASCIIHostsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := testSet(t)
	for _, h := range []string{"www.f%61cebook.com", "WWW%2EFACEBOOK.COM.", "www.facebook.com%2F", strings.Repeat("%61", 400)} {
		if n := testing.AllocsPerRun(100, func() { sinkVendor = s.VendorForHost([]byte(h)) }); n != 0 {
			t.Errorf("VendorForHost(%.40q): %v allocs per run, want 0", h, n)
		}
	}
}

// FuzzClassifyHost feeds arbitrary URLs and hosts to every host lookup: no
// panic and a cached answer equal to the tables' (asked twice, so the
// second comes from a cache). urlhost.FuzzCanonical checks the canonical
// hosts they share.
func FuzzClassifyHost(f *testing.F) {
	for _, tc := range urlForms(f) {
		f.Add(tc.in)
	}
	f.Add("www.FACEBOOK.com.:8443")
	f.Add("xn--www-8m7a.facebook.com")
	s := testSet(f)
	site := s.Site([]byte("shop.example"))
	f.Fuzz(func(t *testing.T, in string) {
		u := []byte(in)
		h := urlhost.Find(u)
		for range 2 {
			if got, want := s.ClassifyURL(site, u), s.classify(site, h); h != nil && got != want {
				t.Fatalf("ClassifyURL(%q) = %s, tables say %s", in, idOf(got), idOf(want))
			}
			if got, want := s.Classify(site, u), s.classify(site, u); got != want {
				t.Fatalf("Classify(%q) = %s, tables say %s", in, idOf(got), idOf(want))
			}
			if got, want := s.Site(u), s.lookupSite(u); got != want {
				t.Fatalf("Site(%q) = %v, tables say %v", in, siteName(got), siteName(want))
			}
		}
		s.VendorForHost(u)
	})
}
