package rewrite

import (
	"bytes"
	"strings"
	"testing"
)

// TestStyleAttr checks style attributes: each input, written whole, at
// every split point and one byte at a time, gives want (empty: the
// input), with n removals, each with a vendor, and oversize.
func TestStyleAttr(t *testing.T) {
	fb := "https://www.facebook.com/tr?id=1"
	long := strings.Repeat("a", MaxTag)
	for _, tc := range []struct {
		in, want   string
		n          int
		oversize   int
		neutralise bool
	}{
		{in: `<div style="background-image:url(` + fb + `)">x</div>`, want: `<div style="background-image:url()">x</div>`, n: 1},
		{in: `<span class=a style='background:URL( "` + fb + `" ) no-repeat'>x</span>`, want: `<span class=a style='background:URL() no-repeat'>x</span>`, n: 1},
		{in: `<table><tr><td style=background:url(//www.facebook.com/tr)>x</td>`, want: `<table><tr><td style=background:url()>x</td>`, n: 1},
		{in: `<img src="/a.png" style="background:url(` + fb + `)" alt=x>`, want: `<img src="/a.png" style="background:url()" alt=x>`, n: 1},
		{in: `<iframe src="/x" style="background:url('//www.facebook.com/tr')"></iframe>p`, want: `<iframe src="/x" style="background:url()"></iframe>p`, n: 1},
		{in: `<a href="/x" ping="/p" STYLE="background:url(//www.facebook.com/tr)">a</a>`, want: `<a href="/x" ping="/p" STYLE="background:url()">a</a>`, n: 1},
		{in: `<script src="/a.js" style="display:block;background:url(//www.facebook.com/tr)"></script>`, want: `<script src="/a.js" style="display:block;background:url()"></script>`, n: 1},
		{in: `<script style="display:block;background:url(//www.facebook.com/tr)">var a=1</script>`, want: `<script style="display:block;background:url()">var a=1</script>`, n: 1},
		// CSS escapes, comments, strings, image-set.
		{in: `<div style="background:url(https:\2f \2f www.facebook.com/tr)">`, want: `<div style="background:url()">`, n: 1},
		{in: `<div style="background:url(https:\/\/www\.facebook\.com/tr)">`, want: `<div style="background:url()">`, n: 1},
		{in: `<div style="/* url(//www.facebook.com/tr) */content:'url(//www.facebook.com/tr)';b:myurl(//www.facebook.com/tr)">`},
		{in: `<div style="background:image-set('//www.facebook.com/a.png' 1x, url(//www.facebook.com/b) 2x, '/c.png' 3x)">`,
			want: `<div style="background:image-set('' 1x, url() 2x, '/c.png' 3x)">`, n: 2},
		{in: `<div style="a:url(//www.facebook.com/tr` + "\n" + `">`, want: `<div style="a:url(">`, n: 1},
		// Character references: the whole value goes.
		{in: `<div style="color:red;background:url(&quot;` + fb + `&quot;)">`, want: `<div style="">`, n: 1},
		{in: `<div style="background:url(https:&#x2F;&#x2F;www.facebook.com/tr)">`, want: `<div style="">`, n: 1},
		{in: `<div style="background:url(https&colon;//www.facebook.com/tr)">`, want: `<div style="">`, n: 1},
		{in: `<div style="background:url&#40;//www.facebook.com/tr&rpar;">`, want: `<div style="">`, n: 1},
		// Unquoted, deleted whole: the first byte stays, so the next attribute is not read as the value.
		{in: `<div style=background:url(&#x2F;&#x2F;www.facebook.com/tr) class=a>x`, want: `<div style=b class=a>x`, n: 1},
		{in: `<img src=/a.png style=background:url(&#x2F;&#x2F;www.facebook.com/tr) alt=x>`, want: `<img src=/a.png style=b alt=x>`, n: 1},
		{in: `<img src=/a style="background:url(//www.facebook.com/tr?a=1&amp;b=2)">`, want: `<img src=/a style="">`, n: 1},
		{in: `<div style="background:url(/a.png?a=1&amp;b=2)">`},
		// What loads nothing, or nothing denied, stays.
		{in: `<div style="background:url(/img/a.png), url(https://example.com/a.png)">`},
		{in: `<div style="background:url(data:image/png;base64,AAAA)">`},
		{in: `<div style="color:red;x://www.facebook.com/tr">`},
		{in: `<div data-style="background:url(//www.facebook.com/tr)" styles="url(//www.facebook.com/tr)" stylex=a>`},
		{in: `<div style id="background:url(//www.facebook.com/tr)">`},
		{in: `</div style="background:url(//www.facebook.com/tr)">`},
		{in: `<textarea><div style="background:url(//www.facebook.com/tr)"></textarea><!-- <p style="background:url(//www.facebook.com/tr)"> -->`},
		{in: `<div style="background:url(//www.facebook.com/tr)`},
		// SVG.
		{in: `<svg><rect style="fill:url(https://www.facebook.com/tr#p)"/><image href="/a.png" style="mask:url(//www.facebook.com/m)"/></svg>`,
			want: `<svg><rect style="fill:url()"/><image href="/a.png" style="mask:url()"/></svg>`, n: 2},
		// Removed or neutralised for another reason.
		{in: `<img src="` + fb + `" style="background:url(` + fb + `)">p`, want: `p`, n: 1},
		{in: `<iframe src="` + fb + `" style="background:url(` + fb + `)"><p style="background:url(` + fb + `)"></iframe>p`, want: `p`, n: 1},
		{in: `<img src="` + fb + `" style="background:url(` + fb + `)" alt=x>`,
			want: `<img data-consent-category="advertising" data-src="` + fb + `" style="background:url()" alt=x>`, n: 2, neutralise: true},
		{in: `<div style="background:url(` + fb + `)">`, want: `<div style="background:url()">`, n: 1, neutralise: true},
		{in: `<noscript><div style="background:url(//www.facebook.com/tr)"></div></noscript>`, want: `<noscript><div style="background:url()"></div></noscript>`, n: 1},
		// Browsers use the first style attribute.
		{in: `<div style="color:red" style="background:url(//www.facebook.com/tr)">`},
		{in: `<div style STYLE="background:url(//www.facebook.com/tr)">`},
		{in: `<img src=/a style="color:red" style="background:url(//www.facebook.com/tr)">`},
		{in: `<div STYLE="background:url(//www.facebook.com/tr)" style="background:url(//www.facebook.com/tr)">`,
			want: `<div STYLE="background:url()" style="background:url(//www.facebook.com/tr)">`, n: 1},
		{in: `<p style="background:url(//www.facebook.com/a)"><span style="background:url(//www.facebook.com/b)">`,
			want: `<p style="background:url()"><span style="background:url()">`, n: 2},
		// Long values: within MaxTag decided whole, past it deleted.
		{in: `<div style="` + strings.Repeat(" ", 5000) + `background:url(//www.facebook.com/tr)">x`, want: `<div style="` + strings.Repeat(" ", 5000) + `background:url()">x`, n: 1},
		{in: `<div style="background:url(data:image/png;base64,` + long + `)">x`, want: `<div style="">x`, oversize: 1},
		{in: `<div style=background:url(data:image/png;base64,` + long + `) class=a>x`, want: `<div style=b class=a>x`, oversize: 1}, // the first byte stays: class stays an attribute
		// In a held tag the tag is cut at MaxTag and the style value in
		// progress there is deleted (tagcut.go); the img stays.
		{in: `<img src=/a style="background:url(data:image/png;base64,` + long + `)">x`, want: `<img src=/a >x`, oversize: 2},
	} {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		p := optOut(t, false)
		if tc.neutralise {
			p = neutral(t, false)
		}
		w := NewWriter(nil, p)
		in := []byte(tc.in)
		got := rewriteSplit(t, w, in, p, nil)
		name := tc.in[:min(len(tc.in), 90)]
		if string(got) != want {
			t.Errorf("%s:\n got %.200q\nwant %.200q", name, got, want)
			continue
		}
		if removals(w) != tc.n || w.Stats().Oversize != tc.oversize {
			t.Errorf("%s: %d removals, %d oversize; want %d, %d", name, removals(w), w.Stats().Oversize, tc.n, tc.oversize)
		}
		for _, rm := range w.Removed() {
			if rm.Vendor == nil {
				t.Errorf("%s: removal without vendor", name)
			}
		}
		if w.Changed() != (want != tc.in) {
			t.Errorf("%s: Changed() = %v", name, w.Changed())
		}
		if bad := notFromInput(got, in, p); bad != "" {
			t.Errorf("%s: %s", name, bad)
		}
		check := func(cuts []int) {
			t.Helper()
			got := rewriteSplit(t, w, in, p, cuts)
			if !bytes.Equal(got, []byte(want)) || removals(w) != tc.n || w.Stats().Oversize != tc.oversize {
				t.Fatalf("%s: split at %v: differs\n%s", name, cuts[:min(len(cuts), 10)], firstDiff(got, []byte(want)))
			}
		}
		step := 1
		if len(in) > 1000 {
			step = 97
		}
		for c := 0; c <= len(in); c += step {
			check([]int{c})
		}
		ones := make([]int, 0, len(in))
		for c := 1; c < len(in); c++ {
			ones = append(ones, c)
		}
		check(ones)
	}
}
