package rewrite

import (
	"github.com/consentgate/consentgate/rules"
)

// Start tags past MaxTag. A held start tag is cut at exactly MaxTag bytes
// (tagAttrs stops the tokenizer there, so the offset does not depend on
// how the page was split into Writes) and decided from what is known at
// that point, which is what a short tag is decided from but for the
// attributes yet to come:
//
//   - the complete attributes, and the attribute value in progress if it
//     is a URL attribute already MaxURL bytes long (its host is known by
//     then, or never will be: see urlPrefixVerdict).
//   - A denied vendor among them decides the element as for a short tag:
//     removed with its content, or neutralised.
//   - Otherwise the element stays. An element whose content is held
//     (an inline script, a noscript, an amp-analytics) cannot stay with
//     its start tag unheld, and is removed (fail closed, counted). Any
//     other streams out: the cut part now, the rest of the tag in
//     segments of at most MaxTag bytes, each decided at its end.
//
// In a segment, every attribute that can load something (the element's
// URL attributes, style, ping of a and area, type of amp-ad and
// amp-embed) is classified when it is complete, and deleted (name and
// value) when it names a denied vendor: the element was kept, so it is
// disarmed attribute by attribute instead. Such an attribute that is still
// in progress at a segment's end is carried into the next segment whole
// (its name and value so far), unless its value is already MaxURL bytes
// long; then it is decided by that prefix, and passes (the rest of its
// value streams out unheld) or is deleted (the rest is dropped). Any other
// attribute value in progress at a cut streams out unheld to its end. A
// neutralised element's later URL attributes are renamed as they come, as
// neutralise would have.
//
// So a tag holds at most MaxTag bytes at a time, a 100 KB data: image or
// a 70 KB data-props attribute on an img or iframe passes unchanged, and a
// denied URL never reaches the visitor. What differs from a short tag: a
// denied URL that comes after the cut deletes its attribute rather than
// the element.

// MaxURL bounds the prefix of a URL attribute value that decides it when
// the value is longer; the host of any URL a page means to load ends well
// within it.
const MaxURL = 4 << 10

// Modes of a start tag cut at MaxTag.
const (
	tcNone    uint8 = iota
	tcKeep          // the element stays; denied attributes are deleted
	tcNeutral       // the element is neutralised; URL attributes are renamed
)

// tagCut is the state of a start tag being streamed in segments.
type tagCut struct {
	mode uint8
	pass bool          // the rest of the current attribute value streams out unheld
	drop bool          // the rest of the current attribute value is dropped
	seen uint32        // kinds of the attributes of earlier segments
	v    *rules.Vendor // the vendor a neutralised element is attributed to
	eds  []edit        // edits of the segment being emitted
}

// edit replaces n bytes at offset at of a segment with ins.
type edit struct {
	at, n int
	ins   string
}

// tagAttrs runs attrStates from in[i]; a held start tag is stopped at
// MaxTag bytes of its held region and cut there.
func (w *Writer) tagAttrs(in []byte, i int) int {
	if !w.interesting || !w.hb.hold {
		return w.attrStates(in, i)
	}
	lim := i + MaxTag - w.hb.off(i)
	if lim >= len(in) {
		return w.attrStates(in, i)
	}
	if lim > i {
		i = w.attrStates(in[:lim], i)
	}
	if i >= lim && w.interesting && w.hb.hold {
		w.cutTag(i)
	}
	return i
}

// checked reports whether an attribute of kind k can make el load
// something, so that in a cut tag it is decided on its own.
func checked(k akind, el elem) bool {
	switch k {
	case aStyle:
		return true
	case aPing:
		return el == elA || el == elArea
	case aType:
		return el == elAmpAd || el == elAmpEmbed
	}
	return k.url(el)
}

// inProgress returns the recorded attribute that the tokenizer is inside
// (its name done, its value not), or nil.
func (w *Writer) inProgress() *attr {
	if !w.cur || len(w.attrs) == 0 {
		return nil
	}
	switch w.st {
	case sAfterAttrName, sBeforeAttrValue, sAttrValueDQ, sAttrValueSQ, sAttrValueUnq:
		return &w.attrs[len(w.attrs)-1]
	}
	return nil
}

// inValue reports whether the tokenizer is inside an attribute value.
func (w *Writer) inValue() bool {
	return w.st == sAttrValueDQ || w.st == sAttrValueSQ || w.st == sAttrValueUnq
}

// cutTag cuts the held start tag (or segment of one) at in[i], MaxTag
// bytes into it.
func (w *Writer) cutTag(i int) {
	seg := w.hb.region(i)
	el := w.el
	ip := w.inProgress()
	var cur attr
	if ip != nil {
		cur = *ip
		w.attrs = w.attrs[:len(w.attrs)-1] // the complete ones, for the helpers below
	}
	long := ip != nil && cur.vs >= 0 && len(seg)-cur.vs >= MaxURL
	first := w.tc.mode == tcNone
	if first {
		w.rep.stats.Oversize++
		v, data := w.cutVerdict(seg, el)
		if v == nil && long && checked(cur.kind, el) && !cur.dup && cur.kind != aStyle {
			if pv, known := w.prefixVerdict(seg[cur.vs:], cur.kind, el); known && pv != nil {
				v, data = pv, cur.kind == aDataSrc || cur.kind == aDataSrcset
			}
		}
		switch {
		case v != nil && w.action(v, el, data) == rules.Remove:
			w.rep.record(v, el, rules.Remove)
			w.cutRemove(i, el)
			return
		case v != nil:
			w.rep.record(v, el, rules.Neutralise)
			w.tc.mode, w.tc.v = tcNeutral, v
		case w.holdsContent(seg, el, cur.kind):
			// Its content would be held after a start tag that is not:
			// fail closed.
			w.cutRemove(i, el)
			return
		default:
			w.tc.mode = tcKeep
		}
	}
	w.tc.eds = w.tc.eds[:0]
	if w.tc.mode == tcNeutral && first {
		w.tc.eds = append(w.tc.eds, edit{at: w.nameEnd, ins: w.consentAttrs(el)})
	}
	w.segEdits(seg, el)
	for _, a := range w.attrs {
		w.tc.seen |= 1 << a.kind
	}
	end := len(seg) // what of the segment goes out now
	carry := -1     // where the next segment starts, when it starts inside this one
	switch {
	case ip == nil && w.st == sAttrName && w.ns > 0:
		// A name cut in two: it may be one that matters.
		end, carry = w.ns, w.ns
	case ip == nil && w.st == sAttrName:
		w.ns = -1 // a name of MaxTag bytes is none the rewriter knows
	case ip != nil && w.tc.mode == tcNeutral && cur.kind != aStyle:
		if w.renamed(cur.kind, el) {
			w.tc.eds = append(w.tc.eds, edit{at: cur.ns, ins: "data-"})
		}
		if w.inValue() {
			w.tc.pass = true
		}
	case ip == nil || !checked(cur.kind, el) || cur.dup:
		if w.inValue() {
			w.tc.pass = true
		}
	case !long:
		end, carry = cur.ns, cur.ns
	default:
		// Decided by the first MaxURL-odd bytes of its value.
		v, known := w.prefixVerdict(seg[cur.vs:], cur.kind, el)
		if known && v == nil {
			w.tc.pass = true
			break
		}
		if v != nil {
			w.rep.record(v, el, rules.Remove)
		} else {
			w.rep.stats.Oversize++
		}
		end = cur.ns
		w.tc.drop = true
	}
	out := w.applyEdits(seg[:end])
	w.hb.flush()
	w.hb.write(out)
	if len(w.tc.eds) > 0 || w.tc.drop {
		w.hb.changed = true
	}
	w.attrs = w.attrs[:0]
	w.cur = false
	switch {
	case carry >= 0:
		// The next segment starts with the carried bytes.
		w.hb.own(i)
		w.hb.keepFrom(carry)
		w.ns -= carry
		if ip != nil {
			cur.ns -= carry
			cur.ne -= carry
			cur.end -= carry
			if cur.vs >= 0 {
				cur.vs -= carry
			}
			w.attrs = append(w.attrs, cur)
			w.cur = true
		}
	case w.tc.pass || w.tc.drop:
		// Until the value ends (valRestDone), nothing is held.
		w.hb.dropHeld(i)
		w.hb.drop = w.tc.drop
	default:
		w.hb.dropHeld(i)
		w.hb.startHold(i)
	}
}

// valRestDone ends the unheld rest of an attribute value at in[end]
// (after its closing quote): a new segment starts there.
func (w *Writer) valRestDone(end int) {
	if w.tc.drop {
		w.hb.emitTo(end) // dropped: w.hb.drop is set
		w.hb.drop = false
	}
	w.tc.pass, w.tc.drop = false, false
	w.hb.emitTo(end)
	w.hb.startHold(end)
}

// segDone emits the last segment of a cut start tag, which ends before
// in[j], and enters the element's content.
func (w *Writer) segDone(j int) {
	seg := w.hb.region(j)
	el := w.el
	w.tc.eds = w.tc.eds[:0]
	w.segEdits(seg, el)
	if len(w.tc.eds) > 0 {
		w.hb.replace(j, w.applyEdits(seg))
	} else {
		w.hb.release()
	}
	w.tc = tagCut{eds: w.tc.eds[:0]}
	w.enter(el)
}

// cutRemove removes the element whose start tag was cut at in[i]: what is
// held, the rest of the tag and the content.
func (w *Writer) cutRemove(i int, el elem) {
	w.hb.replace(i, nil)
	w.interesting, w.oversize = false, true
	w.hb.drop, w.skipEl, w.skipDepth = true, el, 1
	w.attrs = w.attrs[:0]
	w.cur = false
}

// cutVerdict is verdict for the complete attributes of a cut start tag: a
// link whose rel is not among them yet is taken to load its href (fail
// closed).
func (w *Writer) cutVerdict(seg []byte, el elem) (*rules.Vendor, bool) {
	if el == elLink {
		for _, a := range w.attrs {
			if a.kind == aRel && a.vs >= 0 && !a.dup {
				return w.verdict(seg, el)
			}
		}
		for _, a := range w.attrs {
			if a.vs < 0 || a.dup || !a.kind.url(el) {
				continue
			}
			if v := w.attrVendor(seg[a.vs:a.ve], a.kind, el); v != nil {
				return v, false
			}
		}
		return nil, false
	}
	return w.verdict(seg, el)
}

// holdsContent reports whether the content of el would be held after its
// start tag (an inline script, a noscript, an amp-analytics), as decide
// would, from the complete attributes of a cut tag and the kind of the
// one in progress, ip.
func (w *Writer) holdsContent(seg []byte, el elem, ip akind) bool {
	switch el {
	case elScript:
		return !w.external() && ip != aSrc && ip != aHref && ip != aXlinkHref && !w.dataScript(seg)
	case elNoscript:
		return w.foreign == 0
	case elAmpAnalytics:
		return !w.nested
	}
	return false
}

// segEdits adds to w.tc.eds what the mode does to the complete attributes
// of a segment.
func (w *Writer) segEdits(seg []byte, el elem) {
	for _, a := range w.attrs {
		if a.kind == aStyle {
			if !a.dup && w.tc.seen&(1<<aStyle) == 0 && a.vs >= 0 {
				w.styleEdits(seg, a)
			}
			continue
		}
		if w.tc.mode == tcNeutral {
			if w.renamed(a.kind, el) {
				w.tc.eds = append(w.tc.eds, edit{at: a.ns, ins: "data-"})
			}
			continue
		}
		if a.dup || a.vs < 0 || !checked(a.kind, el) {
			continue
		}
		v := w.attrVendor(seg[a.vs:a.ve], a.kind, el)
		if v == nil {
			continue
		}
		if a.kind == aPing && w.pol.action(v) == rules.Neutralise {
			w.rep.record(v, el, rules.Neutralise)
			w.tc.eds = append(w.tc.eds, edit{at: a.ns, ins: "data-"})
			continue
		}
		w.rep.record(v, el, rules.Remove)
		w.tc.eds = append(w.tc.eds, edit{at: a.ns, n: a.end - a.ns})
	}
}

// styleEdits adds the deletions of the denied URLs of a complete style
// attribute, as tagStyle makes them in a short tag.
func (w *Writer) styleEdits(seg []byte, a attr) {
	d, dec, ok := w.styleCSS(seg[a.vs:a.ve])
	if !ok || w.styleCuts(d) == 0 {
		return
	}
	if dec {
		first := 0
		if q := seg[a.vs-1]; q != '"' && q != '\'' {
			first = 1
		}
		w.tc.eds = append(w.tc.eds, edit{at: a.vs + first, n: a.ve - a.vs - first})
		return
	}
	for k := 0; k < len(w.cuts); k += 2 {
		w.tc.eds = append(w.tc.eds, edit{at: a.vs + w.cuts[k], n: w.cuts[k+1] - w.cuts[k]})
	}
}

// renamed reports whether neutralise renames an attribute of kind k of el.
func (w *Writer) renamed(k akind, el elem) bool {
	return k.url(el) && k != aDataSrc && k != aDataSrcset ||
		k == aType && (el == elScript || el == elAmpAd || el == elAmpEmbed)
}

// consentAttrs is what neutralise adds right after the name of el.
func (w *Writer) consentAttrs(el elem) string {
	s := ` data-consent-category="` + w.tc.v.Category.String() + `"`
	if el == elScript {
		s = ` type="text/plain"` + s
	}
	return s
}

// applyEdits returns seg with w.tc.eds (in order of offset) applied.
func (w *Writer) applyEdits(seg []byte) []byte {
	if len(w.tc.eds) == 0 {
		return seg
	}
	sortEdits(w.tc.eds)
	b := w.out[:0]
	prev := 0
	for _, e := range w.tc.eds {
		if e.at < prev || e.at > len(seg) {
			continue // inside an attribute already deleted, or past the cut
		}
		b = append(b, seg[prev:e.at]...)
		b = append(b, e.ins...)
		prev = min(e.at+e.n, len(seg))
	}
	b = append(b, seg[prev:]...)
	w.out = b
	return b
}

// sortEdits sorts a few edits by offset, insertions first.
func sortEdits(e []edit) {
	for i := 1; i < len(e); i++ {
		for k := i; k > 0 && (e[k].at < e[k-1].at || e[k].at == e[k-1].at && e[k].n < e[k-1].n); k-- {
			e[k], e[k-1] = e[k-1], e[k]
		}
	}
}

// prefixVerdict decides an attribute of kind k from the first bytes of its
// value, p (at least MaxURL): the denied vendor and whether it is known. A
// single URL is known when its host ends within p, or when it has none (a
// data: URL, a path); a list (srcset) is known only when one of its URLs
// is denied; a document (srcdoc) or a type never.
func (w *Writer) prefixVerdict(p []byte, k akind, el elem) (*rules.Vendor, bool) {
	p = p[:min(len(p), MaxURL)]
	switch k {
	case aSrcset, aDataSrcset, aImagesrcset, aPing:
		v := w.cl.classifyList(p, k != aPing)
		return v, v != nil
	case aSrcdoc, aType, aStyle:
		return nil, false
	}
	return w.cl.urlPrefix(w.cl.clean(p, false))
}
