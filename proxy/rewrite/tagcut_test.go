package rewrite

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestOversizeTags: a start tag longer than MaxTag used to be removed with
// its content whatever it held, so first-party content with a big data:
// URL or a big data attribute vanished. Now it is cut at MaxTag and
// decided as a short tag would be from what came before; a tracker URL
// after the cut deletes its attribute. Each case is written whole, a byte
// at a time and split at every offset around the cut, with the same
// output.
func TestOversizeTags(t *testing.T) {
	b64 := strings.Repeat("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", 1800)                // ~100 KB
	props := `{"items":[` + strings.Repeat(`{"id":1,"title":"a story","url":"/news/a-story"},`, 1500) + `{}]}` // ~70 KB
	fb, ga := "https://www.facebook.com/tr?id=1", "https://www.google-analytics.com/collect?v=1"
	// pad makes a tag whose next attribute starts n bytes before MaxTag.
	pad := func(head string, n int) string {
		return head + ` alt="` + strings.Repeat("a", MaxTag-len(head)-len(` alt="`)-1-n) + `"`
	}
	for _, c := range []struct {
		name     string
		in, want string
		n        int // removals
		oversize int
		neutral  bool
	}{
		{name: "100 KB data: image", in: `<img src="data:image/png;base64,` + b64 + `" alt="photo"><p>x`},
		{name: "70 KB data-props on an iframe", in: `<iframe data-props='` + props + `' src="/embed/widget"></iframe><p>x`},
		{name: "70 KB data-props on an img", in: `<img data-props='` + props + `' src="/img/a.png" alt=a><p>x`},
		{name: "data: poster on a first-party video", in: `<video poster="data:image/png;base64,` + b64 + `" src="/v.mp4"><source src="/v.webm"></video>`},
		{name: "external first-party script with a big data attribute",
			in: `<script src="/app.js" data-config='` + props + `'></script><p>x`},
		{name: "tracker before the cut: removed as a short tag",
			in:   `<img src="` + fb + `" data-props='` + props + `'><p>x`,
			want: `<p>x`, n: 1},
		{name: "tracker URL longer than the cut: removed by its host",
			in:   `<img src="` + ga + "&q=" + strings.Repeat("x", 100<<10) + `"><p>x`,
			want: `<p>x`, n: 1},
		{name: "tracker after the cut: its attribute deleted",
			in:   `<img data-props='` + props + `' src="` + fb + `" alt=a><p>x`,
			want: `<img data-props='` + props + `'  alt=a><p>x`, n: 1},
		{name: "tracker attribute straddling the cut: carried, then deleted",
			in:   pad("<img", 10) + ` src="` + fb + `"><p>x`,
			want: pad("<img", 10) + ` ><p>x`, n: 1},
		{name: "first-party attribute straddling the cut: kept",
			in: pad("<img", 10) + ` src="/a/very/long/path/to/an/image.png"><p>x`},
		{name: "srcset of data: URLs longer than MaxURL at the cut: deleted",
			in:   `<img alt="` + strings.Repeat("a", MaxTag-100) + `" srcset="data:image/png;base64,` + b64 + ` 1x, /a.png 2x" src="/a.png"><p>x`,
			want: `<img alt="` + strings.Repeat("a", MaxTag-100) + `"  src="/a.png"><p>x`, oversize: 2},
		{name: "ping after the cut", in: `<a href="/x" data-x='` + props + `' ping="` + ga + `">link</a>`,
			want: `<a href="/x" data-x='` + props + `' >link</a>`, n: 1},
		{name: "style with a tracker after the cut",
			in:   `<img data-props='` + props + `' style="background:url(` + fb + `)" src=/a.png>`,
			want: `<img data-props='` + props + `' style="background:url()" src=/a.png>`, n: 1},
		{name: "inline script: its content would be held, removed (fail closed)",
			in: `<script data-x='` + props + `'>var a=1</script><p>x`, want: `<p>x`},
		{name: "script whose src comes after the cut: removed (fail closed)",
			in: `<script data-x='` + props + `' src="/app.js"></script><p>x`, want: `<p>x`},
		{name: "link without rel before the cut, denied href: removed",
			in: `<link href="` + fb + `" data-x='` + props + `' rel=stylesheet><p>x`, want: `<p>x`, n: 1},
		{name: "neutralise: tracker before the cut, later URLs renamed",
			in:   `<iframe src="` + fb + `" data-x='` + props + `' srcdoc="<p>a" src="/b"></iframe>`,
			want: `<iframe data-consent-category="advertising" data-src="` + fb + `" data-x='` + props + `' data-srcdoc="<p>a" data-src="/b"></iframe>`,
			n:    1, neutral: true},
		{name: "neutralise: tracker after the cut, deleted",
			in:   `<img data-x='` + props + `' src="` + fb + `">`,
			want: `<img data-x='` + props + `' >`,
			n:    1, neutral: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := optOut(t, false)
			if c.neutral {
				p = neutral(t, false)
			}
			want := c.want
			if want == "" {
				want = c.in
			}
			oversize := c.oversize
			if oversize == 0 {
				oversize = 1
			}
			w := NewWriter(nil, p)
			in := []byte(c.in)
			check := func(how string, cuts []int) {
				t.Helper()
				got := rewriteSplit(t, w, in, p, cuts)
				if !bytes.Equal(got, []byte(want)) {
					t.Fatalf("%s: output differs\n%s", how, firstDiff(got, []byte(want)))
				}
				if removals(w) != c.n || w.Stats().Oversize != oversize {
					t.Fatalf("%s: %d removals, %d oversize; want %d, %d", how, removals(w), w.Stats().Oversize, c.n, oversize)
				}
				if w.Changed() != (want != c.in) {
					t.Fatalf("%s: Changed() = %v, output equal to input %v", how, w.Changed(), want == c.in)
				}
				for _, r := range w.Removed() {
					if r.Vendor == nil {
						t.Fatalf("%s: a removal without vendor", how)
					}
				}
			}
			check("whole", nil)
			for k := MaxTag - 70; k <= MaxTag+70 && k < len(in); k++ {
				check("split at "+itoa(k), []int{k})
			}
			ones := make([]int, 0, len(in))
			for k := 1; k < len(in); k++ {
				ones = append(ones, k)
			}
			check("a byte at a time", ones)
		})
	}
}

// FuzzTagCut puts fuzzed attributes (and what follows them) right around
// the MaxTag cut of a start tag: the output must not depend on the split
// (random splits plus one near the cut), and must hold only bytes of the
// input besides the neutralising attributes.
func FuzzTagCut(f *testing.F) {
	f.Add([]byte(` src="https://www.facebook.com/tr?id=1" alt=x>`), uint16(10), uint64(1), false, uint8(0))
	f.Add([]byte(` srcset="/a.png 1x, https://www.facebook.com/tr 2x">`), uint16(30), uint64(2), true, uint8(1))
	f.Add([]byte(` style="background:url(//www.facebook.com/x)" src=/a>`), uint16(5), uint64(3), false, uint8(2))
	f.Add([]byte(` data-x='a' ping="https://www.google-analytics.com/c">t</a>`), uint16(50), uint64(4), false, uint8(3))
	f.Add([]byte(` type=doubleclick src="/x"></amp-ad>`), uint16(3), uint64(5), true, uint8(4))
	heads := []string{"<img", "<iframe", "<link rel=preload", "<a href=/x", "<amp-ad", "<script src=/app.js", "<video", "<svg><image"}
	w1, w2 := NewWriter(nil, Policy{}), NewWriter(nil, Policy{})
	f.Fuzz(func(t *testing.T, tail []byte, back uint16, seed uint64, neutralise bool, h uint8) {
		if len(tail) > 4<<10 {
			return
		}
		head := heads[int(h)%len(heads)]
		n := MaxTag - len(head) - len(` alt="`) - 1 - int(back%2048)
		in := []byte(head + ` alt="` + strings.Repeat("a", n) + `"`)
		in = append(in, tail...)
		p := optOut(t, false)
		if neutralise {
			p = neutral(t, false)
		}
		want := append([]byte(nil), rewriteSplit(t, w1, in, p, nil)...)
		rng := rand.New(rand.NewPCG(seed, 3))
		var cuts []int
		for c := 0; ; {
			c += 1 + rng.IntN(1+rng.IntN(8192))
			if c >= len(in) {
				break
			}
			cuts = append(cuts, c)
		}
		near := MaxTag - int(back%2048) + rng.IntN(4096) - 2048
		if near > 0 && near < len(in) && !slices.Contains(cuts, near) {
			cuts = append(cuts, near)
			slices.Sort(cuts)
		}
		if got := rewriteSplit(t, w2, in, p, cuts); !bytes.Equal(got, want) {
			t.Fatalf("split at %v: output differs from whole input\n%s", cuts, firstDiff(got, want))
		}
		if bad := notFromInput(want, in, p); bad != "" {
			t.Fatal(bad)
		}
	})
}
