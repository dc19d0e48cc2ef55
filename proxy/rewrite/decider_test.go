package rewrite

import (
	"io"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// record gives d the start tag tag (quoted, unquoted and bare attributes
// separated by single spaces) as the Writer's tokenizer would, and returns
// its element.
func record(tb testing.TB, d *decider, tag string) elem {
	tb.Helper()
	i := 1
	for i < len(tag) && tag[i] != ' ' && tag[i] != '>' {
		i++
	}
	el := lookupElem([]byte(tag[1:i]))
	if el == elOther && ampName([]byte(tag[1:i])) {
		el = lookupAmp([]byte(tag[1:i]))
	}
	d.start(el, true, i)
	for tag[i] == ' ' {
		i++
		ns := i
		for tag[i] != '=' && tag[i] != ' ' && tag[i] != '>' {
			i++
		}
		d.cur = false
		d.attr(lookupAttr([]byte(tag[ns:i])), ns, i, 0)
		if tag[i] != '=' {
			continue
		}
		i++
		if q := tag[i]; q == '"' || q == '\'' {
			vs := i + 1
			i = vs
			for tag[i] != q {
				i++
			}
			d.valueStart(vs)
			d.valueEnd(i, i+1)
			i++
			continue
		}
		vs := i
		for tag[i] != ' ' && tag[i] != '>' {
			i++
		}
		d.valueStart(vs)
		d.valueEnd(i, i)
	}
	if tag[i] != '>' || i != len(tag)-1 {
		tb.Fatalf("%q: not a tag record reads", tag)
	}
	return el
}

// TestDecider: the verdict, the action and the kind of script the decider
// reads from a held start tag's attributes, under the default opt-out
// policy (neutralise where the test says so).
func TestDecider(t *testing.T) {
	for _, c := range []struct {
		tag      string
		vendor   string // "" when nothing denied is loaded
		data     bool
		act      rules.Action
		external bool
		dataType bool
		neutral  bool
	}{
		{tag: `<script src="https://www.googletagmanager.com/gtm.js">`, vendor: "google-tag-manager", act: rules.Remove, external: true},
		{tag: `<script src="https://www.googletagmanager.com/gtm.js">`, vendor: "google-tag-manager", act: rules.Neutralise, external: true, neutral: true},
		{tag: `<script src="/app.js" src="https://www.googletagmanager.com/gtm.js">`, external: true}, // browsers read the first src
		{tag: `<script>`},
		{tag: `<script type="application/ld+json">`, dataType: true},
		{tag: `<script type=" TEXT/TEMPLATE ">`, dataType: true},
		{tag: `<script type="importmap">`, dataType: true},
		{tag: `<script type="text/plain">`},
		{tag: `<script type="module">`},
		{tag: `<script xlink:href="https://example.com/a.js">`, external: true},
		{tag: `<img src="/a.png" data-src="https://www.google-analytics.com/collect">`, vendor: "google-analytics", data: true, act: rules.Remove},
		{tag: `<img src="/a.png" data-src="https://www.google-analytics.com/collect">`, vendor: "google-analytics", data: true, act: rules.Remove, neutral: true}, // lazy loaders read data-src
		{tag: `<img srcset="/a.png 1x, https://www.google-analytics.com/c.gif 2x">`, vendor: "google-analytics", act: rules.Remove},
		{tag: `<img src=https://static.hotjar.com/p.gif>`, vendor: "hotjar", act: rules.Remove},
		{tag: `<link href="https://www.googletagmanager.com/gtm.js">`}, // no rel that loads
		{tag: `<link rel="canonical" href="https://www.googletagmanager.com/">`},
		{tag: `<link rel="alternate  PRELOAD" href="https://www.googletagmanager.com/gtm.js">`, vendor: "google-tag-manager", act: rules.Remove},
		{tag: `<iframe src="https://www.youtube.com/embed/x">`, vendor: "youtube", act: rules.Remove},
		{tag: `<iframe srcdoc="&lt;script src=https://www.googletagmanager.com/gtm.js&gt;&lt;/script&gt;">`, vendor: "google-tag-manager", act: rules.Remove},
		{tag: `<iframe srcdoc="&lt;p&gt;hello">`},
		{tag: `<amp-ad type="doubleclick" width=300>`, vendor: "google-ads", act: rules.Remove},
		{tag: `<amp-ad type="doubleclick">`, vendor: "google-ads", act: rules.Neutralise, neutral: true}, // type is renamed
		{tag: `<amp-youtube data-videoid="x">`, vendor: "youtube", act: rules.Remove, neutral: true},     // the AMP runtime builds the iframe
		{tag: `<amp-ad type="example">`},
		{tag: `<amp-youtube data-videoid="x">`, vendor: "youtube", act: rules.Remove},
		{tag: `<a href="https://www.googletagmanager.com/">`}, // a link is not a load
	} {
		p := optOut(t, false)
		if c.neutral {
			p = neutral(t, false)
		}
		pol := compilePolicy(p)
		var cl classifier
		cl.reset(pol)
		d := decider{pol: pol, cl: &cl, srcdoc: NewWriter(io.Discard, p).srcdocVendor}
		el := record(t, &d, c.tag)
		v, data := d.verdict([]byte(c.tag), el)
		id := ""
		if v != nil {
			id = v.ID
		}
		if id != c.vendor || data != c.data {
			t.Errorf("%s (neutralise %v): verdict %q, data %v; want %q, %v", c.tag, c.neutral, id, data, c.vendor, c.data)
		}
		if v != nil {
			if act := d.action(v, el, data); act != c.act {
				t.Errorf("%s (neutralise %v): action %v, want %v", c.tag, c.neutral, act, c.act)
			}
		}
		if el == elScript {
			if got := d.external(); got != c.external {
				t.Errorf("%s: external %v, want %v", c.tag, got, c.external)
			}
			if got := d.dataScript([]byte(c.tag)); got != c.dataType {
				t.Errorf("%s: data script %v, want %v", c.tag, got, c.dataType)
			}
		}
	}
}

// TestDeciderAttrs: which attributes the decider records, and which count
// as repeats.
func TestDeciderAttrs(t *testing.T) {
	for _, c := range []struct {
		tag          string
		placeholders bool
		want         []akind
		dup          []bool
	}{
		{tag: `<a href="/x" ping="/p" style="color:red" id=x>`, want: []akind{aPing, aStyle}, dup: []bool{false, false}},
		{tag: `<script id=a class=b src=c src=d>`, want: []akind{aID, aClass, aSrc, aSrc}, dup: []bool{false, false, false, true}},
		{tag: `<img id=a src=c width=3>`, want: []akind{aSrc}, dup: []bool{false}},
		{tag: `<iframe src=c width=3 height=4>`, want: []akind{aSrc}, dup: []bool{false}},
		{tag: `<iframe src=c width=3 height=4>`, placeholders: true, want: []akind{aSrc, aWidth, aHeight}, dup: []bool{false, false, false}},
		{tag: `<img src=c width=3>`, placeholders: true, want: []akind{aSrc}, dup: []bool{false}},
	} {
		d := decider{placeholders: c.placeholders}
		record(t, &d, c.tag)
		var got []akind
		var dup []bool
		for _, a := range d.attrs {
			got = append(got, a.kind)
			dup = append(dup, a.dup)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s (placeholders %v): records %v, want %v", c.tag, c.placeholders, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] || dup[i] != c.dup[i] {
				t.Errorf("%s (placeholders %v): records %v (repeats %v), want %v (%v)", c.tag, c.placeholders, got, dup, c.want, c.dup)
				break
			}
		}
	}
	// A kind seen in an earlier segment of a cut tag is a repeat.
	d := decider{}
	d.start(elImg, true, 4)
	d.attr(aSrc, 5, 8, 1<<aSrc)
	if !d.attrs[0].dup {
		t.Error("a src seen before the cut is not a repeat")
	}
}
