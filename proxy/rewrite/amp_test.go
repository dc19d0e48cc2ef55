package rewrite

import (
	"strings"
	"testing"
)

// TestAmpTypesResolve checks that every AMP type maps to a vendor of the
// default catalogue.
func TestAmpTypesResolve(t *testing.T) {
	s, _ := sets(t)
	for _, tab := range [][]ampType{ampAnalyticsTypes, ampAdTypes} {
		for _, e := range tab {
			if s.VendorByID(e.id) == nil {
				t.Errorf("AMP type %q: no vendor %q in the catalogue", e.name, e.id)
			}
			if strings.ToLower(e.name) != e.name {
				t.Errorf("AMP type %q is not lower case", e.name)
			}
		}
	}
}

func TestAmp(t *testing.T) {
	big := `<amp-analytics><script type="application/json">{"x":"` + strings.Repeat("a", MaxInline) + `"}</script></amp-analytics>`
	f := func(in, want string, removed int) {
		t.Helper()
		p := optOut(t, false)
		got, rm := rewriteString(t, in, p)
		if got != want || len(rm) != removed {
			t.Errorf("Rewrite(%q)\n got: %q (%d removed)\nwant: %q (%d removed)", in, got, len(rm), want, removed)
		}
		// Every split gives the same output.
		w := NewWriter(nil, p)
		for i := 0; i <= len(in) && len(in) < 4096; i++ {
			if out := rewriteSplit(t, w, []byte(in), p, []int{i}); string(out) != got {
				t.Errorf("Rewrite(%q) split at %d: %q, whole: %q", in, i, out, got)
				break
			}
		}
	}
	f(`<amp-pixel src="https://www.facebook.com/tr?id=1"></amp-pixel>x`, `x`, 1)
	f(`<Amp-Img SRC=//www.facebook.com/tr></Amp-Img>x`, `x`, 1)
	f(`<amp-anim srcset="/a.gif 1x, https://www.facebook.com/tr 2x"></amp-anim>x`, `x`, 1)
	f(`<amp-img src="/a.jpg"></amp-img>`, `<amp-img src="/a.jpg"></amp-img>`, 0)
	// Nesting: the removed element ends at its own end tag.
	f(`<amp-ad type="doubleclick"><amp-ad type=x><amp-ad></amp-ad></amp-ad>y</amp-ad>z`, `z`, 1)
	f(`<amp-ad TYPE=" Criteo ">a</amp-ad>b`, `b`, 1)
	f(`<amp-ad type="unknownnet">a</amp-ad>`, `<amp-ad type="unknownnet">a</amp-ad>`, 0)
	f(`<amp-embed type=taboola></amp-embed>`, ``, 1)
	f(`<amp-ad type="custom" src="https://securepubads.g.doubleclick.net/x"></amp-ad>`, ``, 1)
	f(`<amp-analytics type="gtag"><script type="application/json">{}</script></amp-analytics>x`, `x`, 1)
	f(`<amp-analytics type="googleanalytics" type="other"></amp-analytics>`, ``, 1)
	f(`<amp-analytics config="https://www.google-analytics.com/amp.json"></amp-analytics>`, ``, 1)
	f(`<amp-analytics config="/amp.json"><script type="application/json">{"requests":{"a":"https://stats.example.org/h"}}</script></amp-analytics>`,
		`<amp-analytics config="/amp.json"><script type="application/json">{"requests":{"a":"https://stats.example.org/h"}}</script></amp-analytics>`, 0)
	f(`<amp-analytics><script type="application/json">{"requests":{"a":"https:\/\/www.google-analytics.com\/collect"}}</script></amp-analytics>x`, `x`, 1)
	f(`<amp-analytics><script type="application/json">{"requests":{"a":"//connect.facebook.net/x"}}</script></AMP-ANALYTICS >x`, `x`, 1)
	// A denied host anywhere in the content attributes the element.
	f(`<amp-analytics><img src="https://www.facebook.com/tr"><b>k</b></amp-analytics>`, ``, 1)
	f(`<amp-analytics> <img src="https://www.facebook.com/tr"> </amp-analytics>x`, `x`, 1)
	// Cut off by the end of the page.
	f(`<amp-analytics><script type="application/json">{"a":"https://www.google-analytics.com/c"`, ``, 1)
	f(`<amp-analytics><script>"</amp-analytics-x>"</script></amp-analytics>`, `<amp-analytics><script>"</amp-analytics-x>"</script></amp-analytics>`, 0)
	// Fail-closed: an unattributed config longer than MaxInline goes.
	f(big+`x`, `x`, 0)
	// Elements that merely start with "amp-" or look like one.
	f(`<amp-imgx src="https://www.facebook.com/tr"></amp-imgx><amp src="https://www.facebook.com/tr"><amp-carousel data-videoid="x"></amp-carousel>`,
		`<amp-imgx src="https://www.facebook.com/tr"></amp-imgx><amp src="https://www.facebook.com/tr"><amp-carousel data-videoid="x"></amp-carousel>`, 0)
	// An embed component is attributed by its name (ampembed_test.go).
	f(`<amp-youtube data-videoid="x"></amp-youtube>y`, `y`, 1)
}
