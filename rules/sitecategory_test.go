package rules

import (
	"strings"
	"testing"
)

// The categories the seed cookie policy (shared/seeds) gives four vendors,
// unlike the catalogue: X conversion tracking, the Facebook SDK and Eloqua
// "Essential", Pendo "Targeting/Advertising".
const seedCategories = `
upstream: http://127.0.0.1:8080
sites:
  - name: www
    hosts: [www.example.com]
    vendor_categories:
      x-ads: necessary
      meta-pixel: necessary
      eloqua: functional
      pendo: advertising
    actions: {advertising: neutralise}
  - name: other
    hosts: ["*"]
`

func TestVendorCategories(t *testing.T) {
	s := compileYAML(t, seedCategories)
	www, other := s.Site([]byte("www.example.com")), s.Site([]byte("else.example"))
	optIn := AllButNecessary
	for _, c := range []struct {
		id             string
		site           *Site
		want           Category
		optOut, optInD bool // denied by an opt-out, in an opt-in region
	}{
		{"x-ads", www, Necessary, false, false},
		{"meta-pixel", www, Necessary, false, false},
		{"eloqua", www, Functional, false, true},
		{"pendo", www, Advertising, true, true},
		{"google-analytics", www, Analytics, true, true},
		{"x-ads", other, Advertising, true, true},
		{"pendo", other, Analytics, true, true},
		{"x-ads", nil, Advertising, true, true},
	} {
		v := s.VendorByID(c.id)
		name := "<nil>"
		if c.site != nil {
			name = c.site.Name
		}
		if got := c.site.Category(v); got != c.want {
			t.Errorf("site %s: Category(%s) = %s, want %s", name, c.id, got, c.want)
		}
		if got := c.site.Denied(v, DefaultDeny); got != c.optOut {
			t.Errorf("site %s: Denied(%s, opt-out) = %v, want %v", name, c.id, got, c.optOut)
		}
		if got := c.site.Denied(v, optIn); got != c.optInD {
			t.Errorf("site %s: Denied(%s, opt-in) = %v, want %v", name, c.id, got, c.optInD)
		}
	}
	// The catalogue's vendor is unchanged: the declaration is the site's.
	if v := s.VendorByID("x-ads"); v.Category != Advertising {
		t.Errorf("x-ads category = %s, want advertising", v.Category)
	}
	if got := www.Action(s.VendorByID("pendo")); got != Neutralise {
		t.Errorf("www: Action(pendo) = %s, want neutralise (advertising's action)", got)
	}
	if got := other.Action(s.VendorByID("pendo")); got != Remove {
		t.Errorf("other: Action(pendo) = %s, want remove", got)
	}
	// Cookies follow the site's category too: Denied is what the proxy asks.
	if v := s.CookieVendor([]byte("personalization_id")); idOf(v) != "x-ads" || www.Denied(v, DefaultDeny) || !other.Denied(v, DefaultDeny) {
		t.Errorf("personalization_id: vendor %s, denied on www %v, on other %v; want x-ads, false, true",
			idOf(v), www.Denied(v, DefaultDeny), other.Denied(v, DefaultDeny))
	}
}

func TestVendorCategoriesWarnings(t *testing.T) {
	s := compileYAML(t, seedCategories)
	var got []string
	for _, w := range s.Warnings() {
		got = append(got, w.Field)
		if w.Line == 0 {
			t.Errorf("warning %+v has no line", w)
		}
	}
	// x-ads (advertising) and meta-pixel (advertising) made necessary,
	// eloqua (advertising) made functional; pendo made stricter is fine.
	want := "sites[0].vendor_categories.x-ads sites[0].vendor_categories.meta-pixel sites[0].vendor_categories.eloqua"
	if strings.Join(got, " ") != want {
		t.Fatalf("warnings on %q, want %q", got, want)
	}
	w := s.Warnings()[0]
	if w.Line != 7 || !strings.Contains(w.Msg, "x-ads") || !strings.Contains(w.Msg, "advertising in the catalogue") || !strings.Contains(w.Msg, "necessary") {
		t.Errorf("warning = %+v; want line 7 naming x-ads, its catalogue category and the declared one", w)
	}
	if s := compileYAML(t, "upstream: http://127.0.0.1:8080\n"); len(s.Warnings()) != 0 {
		t.Errorf("default config warns: %+v", s.Warnings())
	}
}

// BenchmarkSiteDenied is the cookie decision with and without a site
// declaration.
func BenchmarkSiteDenied(b *testing.B) {
	s := compileYAML(b, seedCategories)
	v := s.VendorByID("google-analytics")
	for _, host := range []string{"www.example.com", "else.example"} {
		site := s.Site([]byte(host))
		b.Run(site.Name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if site.Denied(v, DefaultDeny) {
					n++
				}
			}
			if n == 0 {
				b.Fatal("not denied")
			}
		})
	}
}
