package rewrite

import (
	"bytes"

	"github.com/consentgate/consentgate/rules"
)

// decider is the element decider. It records the attributes of a held
// start tag that the rewriter reads (the Writer's tokenizer finds them and
// gives their offsets in the held tag), and decides from them whether the
// element loads a denied vendor, and what to do about it. Carrying out the
// decision (replacing the held bytes, skipping content, placeholders) is the
// Writer's (decide.go).
type decider struct {
	pol          *compiled
	cl           *classifier
	srcdoc       func(v []byte) *rules.Vendor // the denied vendor an iframe's srcdoc loads (srcdoc.go)
	placeholders bool                         // a placeholder may replace an embed: its size is read

	el          elem
	interesting bool   // the tag is held and its attributes recorded
	nameEnd     int    // offset of the end of the tag name
	attrs       []attr // recorded attributes of a held tag
	ns          int    // offset of the name of the attribute being tokenized
	cur         bool   // the last of attrs is the attribute being tokenized
	oversize    bool   // the held tag passed MaxTag
}

type attr struct {
	kind   akind
	dup    bool // a repeat of an earlier attribute of the same name
	ns, ne int  // name
	vs, ve int  // value, -1 when absent
	end    int  // past the value's closing quote
}

// start makes d decide a start tag of el whose name ends at offset
// nameEnd (held when interesting).
func (d *decider) start(el elem, interesting bool, nameEnd int) {
	d.el, d.interesting, d.nameEnd = el, interesting, nameEnd
	d.oversize, d.cur = false, false
	d.attrs = d.attrs[:0]
}

// attr records an attribute of kind k whose name is at [ns, ne) of the
// held tag, if the decider reads it; seen has the bit 1<<k of each kind
// already seen in an earlier segment of a cut tag (tagcut.go).
func (d *decider) attr(k akind, ns, ne int, seen uint32) {
	if k == aOther || (d.el == elA || d.el == elArea) && k != aPing && k != aStyle {
		return // a and area are read for ping (and style) alone
	}
	if (k == aID || k == aClass) && d.el != elScript {
		return // only a script's id and class are read (keep_scripts)
	}
	if k >= aWidth && (!d.placeholders || d.el != elIframe && !d.el.ampNamed()) {
		return // a placeholder's size: read only where one may go
	}
	a := attr{kind: k, ns: ns, ne: ne, vs: -1, ve: -1, end: ne}
	a.dup = seen&(1<<k) != 0
	for _, b := range d.attrs {
		if b.kind == k {
			// Browsers ignore a repeated attribute; it is still renamed
			// when the element is neutralised, or it would take effect.
			a.dup = true
			break
		}
	}
	d.attrs = append(d.attrs, a)
	d.cur = true
}

// valueStart records where the value of the attribute being tokenized
// starts, vs; valueEnd where it ends, ve, and end past its closing quote.
func (d *decider) valueStart(vs int) {
	if d.cur {
		d.attrs[len(d.attrs)-1].vs = vs
	}
}

func (d *decider) valueEnd(ve, end int) {
	if d.cur {
		a := &d.attrs[len(d.attrs)-1]
		a.ve, a.end = ve, end
	}
}

// verdict returns the first denied vendor among the URLs the element
// loads, and whether it was found in a data-src or data-srcset.
func (d *decider) verdict(tag []byte, el elem) (*rules.Vendor, bool) {
	if el == elLink && !d.relLoads(tag) {
		return nil, false
	}
	for _, a := range d.attrs {
		if a.vs < 0 || a.dup || !a.kind.url(el) {
			continue
		}
		if v := d.attrVendor(tag[a.vs:a.ve], a.kind, el); v != nil {
			return v, a.kind == aDataSrc || a.kind == aDataSrcset
		}
	}
	if el == elAmpAd || el == elAmpEmbed || el == elAmpAnalytics || el.ampNamed() {
		return d.ampTypeVendor(tag, el), false
	}
	return nil, false
}

// action is what enforce does to the held element el of vendor v; data:
// v was found in data-src or data-srcset.
func (d *decider) action(v *rules.Vendor, el elem, data bool) rules.Action {
	if data || el == elAmpAnalytics || el.ampNamed() {
		// A denied URL in data-src is loaded by lazy loaders and consent
		// tools alike; renaming attributes cannot stop that. Nor can it
		// stop the AMP runtime from reading an inline analytics config,
		// or from building an embed's iframe from its data-* attributes.
		return rules.Remove
	}
	return d.pol.action(v)
}

// external reports whether the held script has a src (or SVG href).
func (d *decider) external() bool {
	for _, a := range d.attrs {
		if a.kind == aSrc || a.kind == aHref || a.kind == aXlinkHref {
			return true
		}
	}
	return false
}

// dataScript reports whether the held script's type makes it data (JSON,
// templates, import maps), which never runs and is not matched. Anything
// else, including type="text/plain" that a consent tool may run later,
// is matched.
func (d *decider) dataScript(tag []byte) bool {
	for _, a := range d.attrs {
		if a.kind != aType || a.vs < 0 || a.dup {
			continue
		}
		t := bytes.TrimSpace(tag[a.vs:a.ve])
		if len(t) > 40 {
			return false
		}
		var lb [40]byte
		for i, c := range t {
			lb[i] = lower(c)
		}
		t = lb[:len(t)]
		if bytes.Contains(t, []byte("json")) || string(t) == "importmap" || string(t) == "speculationrules" {
			return true
		}
		for _, p := range dataTypePrefixes {
			if bytes.HasPrefix(t, []byte(p)) {
				return true
			}
		}
		return false
	}
	return false
}

var dataTypePrefixes = []string{"text/template", "text/x-template", "text/html", "text/x-handlebars", "text/ng-template", "text/x-jquery-tmpl", "text/x-magento-template", "x-shader/"}

// relLoads reports whether a link's rel makes the browser fetch its href.
func (d *decider) relLoads(tag []byte) bool {
	for _, a := range d.attrs {
		if a.kind != aRel || a.vs < 0 || a.dup {
			continue
		}
		// The value is a set of tokens split on ASCII whitespace (HTML
		// "split a string on ASCII whitespace"); bytes.Fields allocated
		// a slice per element.
		for v := tag[a.vs:a.ve]; len(v) > 0; {
			i := 0
			for i < len(v) && isSpace(v[i]) {
				i++
			}
			j := i
			for j < len(v) && !isSpace(v[j]) {
				j++
			}
			f := v[i:j]
			v = v[j:]
			for _, r := range loadingRels {
				if bytes.EqualFold(f, []byte(r)) {
					return true
				}
			}
		}
		return false
	}
	return false
}

var loadingRels = []string{"preload", "prefetch", "preconnect", "dns-prefetch", "modulepreload", "stylesheet", "icon", "prerender", "manifest", "import"}

// attrVendor returns the denied vendor that a complete attribute value
// val of kind k loads, or nil.
func (d *decider) attrVendor(val []byte, k akind, el elem) *rules.Vendor {
	switch k {
	case aSrcset, aDataSrcset, aImagesrcset:
		return d.cl.classifyList(val, true)
	case aPing:
		return d.cl.classifyList(val, false)
	case aSrcdoc:
		return d.srcdoc(val)
	case aType:
		return d.ampType(bytes.TrimSpace(val), el)
	}
	if v, ok := d.cl.hosts.prefix(val); ok {
		return v
	}
	return d.cl.classify(d.cl.clean(val, false))
}

// ampTypeVendor returns the denied vendor that the type attribute of the
// held AMP component el names, or for an AMP embed component its name, or
// nil.
func (d *decider) ampTypeVendor(tag []byte, el elem) *rules.Vendor {
	if el.ampNamed() {
		return d.ampNamedVendor(el)
	}
	tab := d.pol.ampAds
	switch el {
	case elAmpAnalytics:
		tab = d.pol.ampAnalytics
	case elAmpAd, elAmpEmbed:
	default:
		return nil
	}
	for _, a := range d.attrs {
		if a.kind != aType || a.vs < 0 || a.dup {
			continue
		}
		return d.ampTypeIn(bytes.TrimSpace(tag[a.vs:a.ve]), tab)
	}
	return nil
}

// ampType returns the denied vendor that the type t of the AMP component
// el names, or nil.
func (d *decider) ampType(t []byte, el elem) *rules.Vendor {
	switch el {
	case elAmpAnalytics:
		return d.ampTypeIn(t, d.pol.ampAnalytics)
	case elAmpAd, elAmpEmbed:
		return d.ampTypeIn(t, d.pol.ampAds)
	}
	return nil
}

// ampTypeIn looks the type t up in tab.
func (d *decider) ampTypeIn(t []byte, tab []ampVendor) *rules.Vendor {
	for _, e := range tab {
		if lowerEq(t, e.name) {
			if d.pol.denied(e.v) {
				return e.v
			}
			return nil
		}
	}
	return nil
}

// ampNamedVendor returns the vendor that the AMP embed component el is
// attributed to by its name, if it is denied, or nil.
func (d *decider) ampNamedVendor(el elem) *rules.Vendor {
	if d.pol.set == nil {
		return nil
	}
	if v := d.pol.set.VendorByID(ampEmbedIDs[el-elAmpYoutube]); d.pol.denied(v) {
		return v
	}
	return nil
}
