package rewrite

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCSS checks the CSS scanner of style elements: each input, written
// whole, at every split point and one byte at a time, gives want, and
// the removals are counted.
func TestCSS(t *testing.T) {
	fb := "https://www.facebook.com/tr?id=5"
	long := strings.Repeat("a", 5000)
	for _, tc := range []struct {
		in, want string
		n        int // removals
		oversize int
	}{
		{`<style>b{background:url(` + fb + `)}</style>`, `<style>b{background:url()}</style>`, 1, 0},
		{`<style>b{background:URL( "` + fb + `" )}</style>`, `<style>b{background:URL()}</style>`, 1, 0},
		{`<style>b{background:url('//www.facebook.com/tr')}</style>`, `<style>b{background:url()}</style>`, 1, 0},
		{`<style>b{background:url(https:\2f \2f www.facebook.com/tr)}</style>`, `<style>b{background:url()}</style>`, 1, 0},
		{`<style>b{background:url(https:\/\/www\.facebook\.com/tr)}</style>`, `<style>b{background:url()}</style>`, 1, 0},
		{`<style>b{background:url("https://www.face\
book.com/tr")}</style>`, `<style>b{background:url()}</style>`, 1, 0},
		{`<style>b{background:url(` + "\t" + `//www.facebook.com/tr` + "\n" + `)}</style>`, `<style>b{background:url()}</style>`, 1, 0},
		{`<style>@import url("https://www.facebook.com/a.css"); b{}</style>`, `<style> b{}</style>`, 1, 0},
		{`<style>@import "https://www.facebook.com/a.css" screen and (min-width: 1px);b{}</style>`, `<style>b{}</style>`, 1, 0},
		{`<style>@IMPORT/**/'//www.facebook.com/a.css'</style>`, `<style></style>`, 1, 0},
		{`<style>@import url(//www.facebook.com/a.css) supports(display:grid)}b{}</style>`, `<style>}b{}</style>`, 1, 0},
		{`<style>@import "/site.css";@import url(https://example.com/a.css);</style>`, ``, 0, 0},
		{`<style>@media print{@font-face{src:url(//www.facebook.com/f.woff)}}</style>`, `<style>@media print{@font-face{src:url()}}</style>`, 1, 0},
		{`<style>b{background:image-set("` + fb + `" 1x, url(//www.facebook.com/b.png) 2x, "/a.png" 3x)}</style>`,
			`<style>b{background:image-set("" 1x, url() 2x, "/a.png" 3x)}</style>`, 2, 0},
		{`<style>b{background:-webkit-image-set('//www.facebook.com/a.png' 1x)}</style>`, `<style>b{background:-webkit-image-set('' 1x)}</style>`, 1, 0},
		{`<style>b{background:image-set(linear-gradient(red, blue) 1x, "//www.facebook.com/a.png" 2x)}</style>`,
			`<style>b{background:image-set(linear-gradient(red, blue) 1x, "" 2x)}</style>`, 1, 0},
		// What loads nothing stays.
		{`<style>/* url(` + fb + `) @import "` + fb + `"; */b{}</style>`, ``, 0, 0},
		{`<style>b{content:"url(` + fb + `)";x:'\'@import "` + fb + `"'}</style>`, ``, 0, 0},
		{`<style>b{background:myurl(` + fb + `) url (` + fb + `)}</style>`, ``, 0, 0},
		{`<style>b{background:url(/img/a.png), url(https://example.com/a.png), url(data:image/png;base64,AAAA)}</style>`, ``, 0, 0},
		{`<style>b{x:"(" url(//www.facebook.com/a)}</style>`, `<style>b{x:"(" url()}</style>`, 1, 0},
		// The element ends at "</style", in a string or in a URL too.
		{`<style>b{content:"</style>"} x{background:url(//www.facebook.com/tr)}</style>`, ``, 0, 0},
		{`<style>b{background:url(//www.facebook.com/tr</style><p>`, `<style>b{background:url(</style><p>`, 1, 0},
		{`<style>b{background:url(//www.facebook.com/tr</stylex>)}</style>`, `<style>b{background:url()}</style>`, 1, 0},
		{`<style>b{background:url(//www.facebook.com/tr`, `<style>b{background:url(`, 1, 0},
		{`<style>@import "//www.facebook.com/a.css"`, `<style>`, 1, 0},
		{`<style></url(//www.facebook.com/tr)</style>`, `<style></url()</style>`, 1, 0},
		{`<style><!--b{background:url(//www.facebook.com/tr)}--></style>`, `<style><!--b{background:url()}--></style>`, 1, 0},
		// Past MaxCSSToken: decided on the first MaxCSSToken bytes.
		{`<style>b{background:url(data:image/svg+xml,` + long + `)}</style>`, ``, 0, 1},
		{`<style>b{background:url("/img/` + long + `")}</style>`, ``, 0, 1},
		{`<style>b{background:url(https://www.facebook.com/` + long + `)}</style>`, `<style>b{background:url()}</style>`, 1, 1},
		{`<style>b{background:url(` + strings.Repeat(" ", 5000) + `//www.facebook.com/)}</style>`, `<style>b{background:url()}</style>`, 0, 1},
		{`<style>b{background:url(https://` + long + `.example.com/)}</style>`, `<style>b{background:url()}</style>`, 0, 1},
		{`<style>@import url(//www.facebook.com/` + long + `) print; b{}</style>`, `<style> b{}</style>`, 1, 1},
		{`<style>@import url(/a/` + long + `) print; b{}</style>`, ``, 0, 1},
		{`<style>@import ` + strings.Repeat(" ", 5000) + `;b{}</style>`, `<style>b{}</style>`, 0, 1},
		{`<style>@import ` + strings.Repeat(" ", 5000) + `"/a.css";b{}</style>`, `<style>b{}</style>`, 0, 1},
		{`<style>@` + long + ` x{}</style>`, ``, 0, 0},
		// Not a style element's content.
		{`<p>url(//www.facebook.com/tr)</p><textarea>url(//www.facebook.com/tr)</textarea>`, ``, 0, 0},
		{`<object data="//www.facebook.com/x"><style>b{background:url(//www.facebook.com/tr)}</style></object>p`, `p`, 1, 0},
	} {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		p := optOut(t, false)
		w := NewWriter(nil, p)
		got := rewriteSplit(t, w, []byte(tc.in), p, nil)
		name := tc.in[:min(len(tc.in), 80)]
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
		if bad := notFromInput(got, []byte(tc.in), p); bad != "" {
			t.Errorf("%s: %s", name, bad)
		}
		in := []byte(tc.in)
		check := func(cuts []int) {
			t.Helper()
			got := rewriteSplit(t, w, in, p, cuts)
			if !bytes.Equal(got, []byte(want)) || removals(w) != tc.n || w.Stats().Oversize != tc.oversize {
				t.Fatalf("%s: split at %v: differs\n%s", name, cuts[:min(len(cuts), 10)], firstDiff(got, []byte(want)))
			}
		}
		step := 1
		if len(in) > 1000 {
			step = 7
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

// TestCSSRandom writes random style content made of the pieces the CSS
// scanner tells apart in random parts: the output does not depend on the
// split and holds only bytes of the input (besides the stub).
func TestCSSRandom(t *testing.T) {
	pieces := []string{"url(", "URL( ", ")", `"`, "'", `\`, `\2f `, "/*", "*/", "/", "*", "@import ", "@media ", "@",
		"image-set(", "-webkit-image-set(", "(", "//www.facebook.com/x", "https://connect.facebook.net/", "/a.png",
		"data:x,", "</style>", "</sty", "</style", "<", "<!--", ";", "{", "}", " ", "\n", "a", ",", "1x",
		strings.Repeat("a", 3000), strings.Repeat(" ", 2000), "<style>", "<p>", "<svg><style>", "</svg>"}
	rng := rand.New(rand.NewPCG(1, 2))
	p := optOut(t, true)
	w1, w2 := NewWriter(nil, p), NewWriter(nil, p)
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		var sb strings.Builder
		sb.WriteString("<style>")
		for k := rng.IntN(40); k > 0; k-- {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		in := []byte(sb.String())
		want := append([]byte(nil), rewriteSplit(t, w1, in, p, nil)...)
		for range 4 {
			var cuts []int
			for c := 0; ; {
				c += 1 + rng.IntN(1+rng.IntN(600))
				if c >= len(in) {
					break
				}
				cuts = append(cuts, c)
			}
			got := rewriteSplit(t, w2, in, p, cuts)
			if !bytes.Equal(got, want) || removals(w2) != removals(w1) || w2.Stats() != w1.Stats() {
				t.Fatalf("%.300q split at %v: differs\n%s", in, cuts, firstDiff(got, want))
			}
		}
		if bad := notFromInput(want, in, p); bad != "" {
			t.Fatalf("%.300q: %s", in, bad)
		}
		if w1.Changed() != !bytes.Equal(want, in) {
			t.Fatalf("%.300q: Changed() = %v", in, w1.Changed())
		}
	}
}

// scanCSS runs a cssScanner alone over style content css (no '<'),
// written in the parts cuts gives, as the Writer drives it: scan each
// part, bound at the end of each Write, end at the end of the page.
func scanCSS(cl *classifier, css []byte, cuts []int) (string, report) {
	var out bytes.Buffer
	var hb holdBuf
	var rep report
	hb.reset(&out)
	c := cssScanner{hb: &hb, cl: cl, rep: &rep}
	c.start()
	prev := 0
	for _, k := range append(cuts, len(css)) {
		part := css[prev:k]
		prev = k
		hb.begin(part)
		c.scan(part, 0, len(part))
		if hb.end() {
			c.bound(false, 0)
		}
		hb.done()
	}
	hb.begin(nil)
	c.end(0, 0, true)
	hb.release()
	return out.String(), rep
}

// TestCSSScanner drives the CSS scanner without a Writer: the URLs it
// deletes, whole and at every split point.
func TestCSSScanner(t *testing.T) {
	var cl classifier
	cl.reset(compilePolicy(optOut(t, false)))
	long := strings.Repeat("a", 5000)
	for _, tc := range []struct {
		in, want    string
		n, oversize int
	}{
		{`b{background:url(https://www.facebook.com/tr?id=5)}`, `b{background:url()}`, 1, 0},
		{`b{background:url( '//www.facebook.com/tr' ) no-repeat}`, `b{background:url() no-repeat}`, 1, 0},
		{`@import url("https://www.facebook.com/a.css"); b{}`, ` b{}`, 1, 0},
		{`@import '//www.facebook.com/a.css' print;b{}`, `b{}`, 1, 0},
		{`b{background:image-set("//www.facebook.com/a.png" 1x, "/a.png" 2x)}`, `b{background:image-set("" 1x, "/a.png" 2x)}`, 1, 0},
		{`/* url(//www.facebook.com/x) */b{content:"url(//www.facebook.com/x)"}`, ``, 0, 0},
		{`b{background:url(//www.facebook.com/tr`, `b{background:url(`, 1, 0},
		{`b{background:url(data:image/svg+xml,` + long + `)}`, ``, 0, 1},
		{`b{background:url(https://www.facebook.com/` + long + `)}`, `b{background:url()}`, 1, 1},
		{`@import url(//www.facebook.com/` + long + `) print; b{}`, ` b{}`, 1, 1},
	} {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		in := []byte(tc.in)
		step := 1 + len(in)/200
		for k := 0; k <= len(in); k += step {
			var cuts []int
			if k > 0 && k < len(in) {
				cuts = []int{k}
			}
			got, rep := scanCSS(&cl, in, cuts)
			n := 0
			for _, r := range rep.removed {
				n += r.Count
			}
			if got != want || n != tc.n || rep.stats.Oversize != tc.oversize {
				t.Fatalf("%.80s, split at %v:\n got %.200q, %d removed, %d oversize\nwant %.200q, %d, %d",
					tc.in, cuts, got, n, rep.stats.Oversize, want, tc.n, tc.oversize)
			}
		}
	}
}
