package rewrite

import (
	"bytes"

	"github.com/consentgate/consentgate/rules"
)

// elemDone is called when the name of a tag, el, ends at in[i].
func (w *Writer) elemDone(i int, el elem) {
	w.selfClosing, w.sseen = false, false
	if w.isEnd {
		w.start(el, false, 0)
		if w.phDepth > 0 {
			w.placeholderEndTag(el)
		}
		return
	}
	if !w.stubDone && !w.hb.drop && !el.beforeStub() {
		// The stub (or the guard, which carries it) goes before the first
		// element that may run script.
		w.stubDone = true
		w.hb.flush()
		if len(w.p.Head) > 0 {
			w.hb.insert(w.p.Head)
		} else {
			w.hb.insert(w.pol.stub)
		}
	}
	if w.hb.drop || !el.loads() || el == elNoscript && w.nested {
		w.start(el, false, 0)
		w.hb.release()
		return
	}
	w.start(el, true, w.hb.off(i))
}

// The attribute callbacks record, for a held tag, the attributes the
// decider reads (akind other than aOther).

func (w *Writer) attrBegin(i int) {
	w.ns, w.cur = w.hb.off(i), false
}

func (w *Writer) attrNameDone(in []byte, i int) {
	if w.ns < 0 {
		return // a name longer than MaxTag, cut (tagcut.go)
	}
	var k akind
	if s := w.hb.at(w.ns); s >= 0 {
		// The name is in this input.
		if n := i - s; n > 0 && n < len(attrTab[0]) {
			if t := &attrTab[in[s]&31][n]; t[0] != aOther {
				k = lookupAttrIn(in[s:i], t)
			}
		}
	} else {
		k = lookupAttr(w.hb.region(i)[w.ns:w.hb.off(i)])
	}
	if k != aOther {
		// Past a cut (tagcut.go), earlier attributes are in w.tc.seen.
		w.attr(k, w.ns, w.hb.off(i), w.tc.seen)
	}
}

func (w *Writer) valBegin(i int) {
	if w.cur {
		w.valueStart(w.hb.off(i))
	}
}

func (w *Writer) valDone(i, end int) {
	if w.tc.pass || w.tc.drop {
		w.valRestDone(end)
		return
	}
	if w.cur {
		w.valueEnd(w.hb.off(i), w.hb.off(end))
	}
}

// tagDone is called at the '>' at in[i] that ends a tag.
func (w *Writer) tagDone(i int) {
	el := w.el
	if w.isEnd {
		w.endTagDone(i)
		return
	}
	switch {
	case w.oversize:
		// The start tag passed MaxTag: its start was dropped, drop the rest.
		w.oversize = false
		w.hb.emitTo(i + 1)
		if !el.container() || w.foreign > 0 && w.selfClosing {
			w.hb.drop = false
		}
	case w.interesting:
		w.interesting = false
		w.decide(i)
		return
	case w.hb.drop && el == w.skipEl && !(w.foreign > 0 && w.selfClosing):
		w.skipDepth++
	case el == elTemplate && w.phDepth > 0 && !w.hb.drop && !(w.foreign > 0 && w.selfClosing):
		w.phTmpl++
	}
	w.enter(el)
}

// enter sets the tokenizer state for the content of the start tag el.
func (w *Writer) enter(el elem) {
	w.st = sText
	if w.phDepth > 0 && el == w.phEl && !w.hb.drop && !(w.foreign > 0 && w.selfClosing) {
		w.phDepth++ // a kept element of the placeholder's name, nested
	}
	if w.foreign > 0 {
		switch {
		case w.selfClosing:
		case el == elSvg || el == elMath:
			w.foreign++
		case el == elScript:
			// Approximation: an SVG script is read as raw text, like an
			// HTML one, so nothing inside it is ever rewritten.
			w.rawText(el)
		}
		return
	}
	switch el {
	case elSvg, elMath:
		if !w.selfClosing {
			w.foreign++
		}
	case elScript, elStyle, elTextarea, elTitle, elXmp, elIframe, elNoembed, elNoframes:
		w.rawText(el)
		if el == elStyle {
			w.css.start()
		}
	case elNoscript:
		// Browsers with scripting on read noscript as raw text; its content
		// is rewritten as markup separately (see finishHeld).
		if !w.nested {
			w.rawText(el)
		}
	case elPlaintext:
		w.st = sPlaintext
	}
}

func (w *Writer) rawText(el elem) {
	w.st, w.rawEl, w.ss = sRaw, el, rData
}

func (w *Writer) endTagDone(i int) {
	el := w.el
	w.st = sText
	switch {
	case w.hb.hold && w.holdEl != elOther:
		w.finishHeld(i + 1)
	case w.hb.drop && el == w.skipEl:
		w.skipDepth--
		if w.skipDepth == 0 {
			w.hb.emitTo(i + 1)
			w.hb.drop = false
		}
	case !w.hb.drop && w.phDepth > 0 && el == w.phEl:
		w.phDepth--
		if w.phDepth == 0 {
			// The element's end tag: the template, the text and the
			// button close the placeholder.
			w.hb.emitTo(i + 1)
			w.out = w.placeholderEnd(w.out[:0])
			w.hb.write(w.out)
			w.hb.changed = true
		}
	}
	if el == elScript {
		w.scriptEnd(w.ltPage)
	}
	if w.foreign > 0 && (el == elSvg || el == elMath) {
		w.foreign--
	}
}

// decide handles the start tag of an element that can load a third party,
// held and ending at the '>' at in[i].
func (w *Writer) decide(i int) {
	el := w.el
	j := i + 1
	if w.tc.mode != tcNone {
		w.segDone(j) // the last segment of a tag cut at MaxTag
		return
	}
	tag := w.hb.region(j)
	w.tagEnd = len(tag)
	if el == elA || el == elArea {
		tag = w.tagStyle(tag, j)
		w.ping(tag, j)
		w.enter(el)
		return
	}
	v, data := w.verdict(tag, el)
	if v == nil || w.action(v, el, data) != rules.Remove {
		tag = w.tagStyle(tag, j)
	}
	switch {
	case v != nil:
		w.enforce(j, tag, el, v, data)
	case el == elScript && !(w.foreign > 0 && w.selfClosing) && !w.external():
		if w.dataScript(tag) {
			w.newScript(tag, Data, ReasonDataType)
			w.hb.release()
			w.enter(el)
			return
		}
		w.newScript(tag, Kept, ReasonNoEvidence)
		w.holdEl, w.cs, w.ltOff = elScript, len(tag), len(tag)
		w.enter(el)
	case el == elNoscript && w.foreign == 0:
		// (In SVG or MathML a noscript is a foreign element: its content
		// is markup, tokenized as any other.)
		w.holdEl, w.cs, w.ltOff = elNoscript, len(tag), len(tag)
		w.enter(el)
	case el == elAmpAnalytics && !w.nested && !(w.foreign > 0 && w.selfClosing):
		// The inline configuration is held through </amp-analytics> and
		// matched (finishHeld); the content is then rewritten as markup.
		w.holdEl, w.cs, w.ltOff = elAmpAnalytics, len(tag), len(tag)
		w.enter(el)
		w.rawText(el)
	default:
		w.hb.release()
		w.enter(el)
	}
}

// skipContent drops what follows a removed start tag of el, through its
// end tag.
func (w *Writer) skipContent(el elem) {
	if el.container() && !(w.foreign > 0 && w.selfClosing) {
		w.hb.drop, w.skipEl, w.skipDepth = true, el, 1
	}
}

// enforce removes or neutralises the held element el of vendor v.
func (w *Writer) enforce(j int, tag []byte, el elem, v *rules.Vendor, data bool) {
	act := w.action(v, el, data)
	w.rep.record(v, el, act)
	if act == rules.Remove && !(w.foreign > 0 && w.selfClosing) {
		if e := w.placeholderFor(tag, el, v); e != nil {
			// The element stays, inert in a template, inside a
			// placeholder; its content passes through to its end tag.
			tag = w.tagStyle(tag, j) // before placeholderStart: both use w.out
			b := w.placeholderStart(w.out[:0], tag, v, e)
			b = append(b, tag...)
			w.out = b
			w.hb.replace(j, b)
			w.enter(el)
			w.phEl, w.phDepth, w.phTmpl, w.phEmbed = el, 1, 0, e
			return
		}
	}
	if act == rules.Remove {
		w.hb.replace(j, nil)
		w.skipContent(el)
	} else {
		w.hb.replace(j, w.neutralise(tag, el, v))
	}
	w.enter(el)
}

// neutralise returns tag with the consent attributes added right after the
// name (so they win over duplicates) and the URL attributes renamed.
func (w *Writer) neutralise(tag []byte, el elem, v *rules.Vendor) []byte {
	b := append(w.out[:0], tag[:w.nameEnd]...)
	if el == elScript {
		b = append(b, ` type="text/plain"`...)
	}
	b = append(b, ` data-consent-category="`...)
	b = append(b, w.pol.site.Category(v).String()...)
	b = append(b, '"')
	prev := w.nameEnd
	for _, a := range w.attrs {
		if a.kind.url(el) && a.kind != aDataSrc && a.kind != aDataSrcset ||
			a.kind == aType && (el == elScript || el == elAmpAd || el == elAmpEmbed) {
			b = append(b, tag[prev:a.ns]...)
			b = append(b, "data-"...)
			prev = a.ns
		}
	}
	b = append(b, tag[prev:]...)
	w.out = b
	return b
}

// ping drops (or, to neutralise, renames) a ping attribute that reports to
// a denied vendor; the link itself stays.
func (w *Writer) ping(tag []byte, j int) {
	for _, a := range w.attrs {
		if a.kind != aPing || a.vs < 0 || a.dup {
			continue
		}
		v := w.cl.classifyList(tag[a.vs:a.ve], false)
		if v == nil {
			continue
		}
		act := w.pol.action(v)
		w.rep.record(v, w.el, act)
		b := append(w.out[:0], tag[:a.ns]...)
		if act == rules.Neutralise {
			b = append(append(b, "data-"...), tag[a.ns:]...)
		} else {
			b = append(b, tag[a.end:]...)
		}
		w.out = b
		w.hb.replace(j, b)
		return
	}
	w.hb.release()
}

// finishHeld decides held script or noscript content whose end tag ends
// before in[j] (or that the end of the page cut off).
func (w *Writer) finishHeld(j int) {
	all := w.hb.region(j)
	el := w.holdEl
	w.holdEl = elOther
	content := all[w.cs:w.ltOff]
	if el == elAmpAnalytics {
		w.ampAnalytics(all, content, j)
		return
	}
	if el == elNoscript {
		if len(content) > MaxInline {
			w.rep.stats.Oversize++
			w.hb.replace(j, nil)
			return
		}
		w.noscript(all, content, j)
		return
	}
	w.finishScript(all, j)
}

// noscript rewrites the content of a noscript element as markup, for
// browsers without scripting. If that removed something and left only
// white space, the whole element goes.
func (w *Writer) noscript(all, content []byte, j int) {
	if w.sub == nil {
		w.sub = &Writer{}
	}
	w.sub.pol = w.pol
	w.subBuf = w.subBuf[:0]
	w.sub.reset(&w.subBuf, w.p, true)
	w.sub.Write(content)
	w.sub.Close()
	if !w.sub.Changed() {
		w.hb.release()
		return
	}
	w.rep.merge(&w.sub.rep)
	w.hb.changed = true
	w.rep.stats.Oversize += w.sub.rep.stats.Oversize
	if len(bytes.TrimSpace(w.subBuf)) == 0 {
		w.hb.replace(j, nil)
		return
	}
	b := append(w.out[:0], all[:w.cs]...)
	b = append(b, w.subBuf...)
	b = append(b, all[len(all)-len(all[w.ltOff:]):]...)
	w.out = b
	w.hb.replace(j, b)
}

// match returns the first denied vendor whose signature is in content.
func (w *Writer) match(content []byte) *rules.Vendor {
	// JSON-style escaped slashes, as in "https:\/\/connect.facebook.net\/".
	content = w.unescape(content)
	w.found = nil
	w.pol.set.Signatures().Each(content, w.matchFn)
	return w.found
}

func (w *Writer) onMatch(v *rules.Vendor) bool {
	if w.pol.denied(v) {
		w.found = v
		return false
	}
	return true
}

// bound applies the bounds at the end of a Write, while something is held.
// Every outcome here equals what the end tag would have decided, so the
// output does not depend on where the input was split.
func (w *Writer) bound() {
	switch {
	case w.sval && len(w.hb.held) > MaxTag:
		// A style attribute value past MaxTag: deleted through its end,
		// as styleDone deletes one that ends in a single Write.
		w.rep.stats.Oversize++
		w.hb.replace(len(w.hb.in), w.keep(w.hb.held))
		w.sdrop, w.hb.drop = true, true
	case w.holdEl == elScript && w.contentEnd()-w.cs > MaxScript:
		w.oversizeScript(w.hb.held, len(w.hb.in), true)
	case (w.holdEl == elNoscript || w.holdEl == elAmpAnalytics) && w.contentEnd()-w.cs > MaxInline:
		w.rep.stats.Oversize++
		w.hb.drop, w.skipEl, w.skipDepth = true, w.holdEl, 1
		w.holdEl = elOther
		w.hb.replace(len(w.hb.in), nil)
	case w.css.on:
		cand := w.st == sRaw && (w.ss == rLt || w.ss == rEndName && w.tbn <= len("style"))
		w.ltOff = w.css.bound(cand, w.ltOff)
	}
}

// finish decides what is held at the end of the page.
func (w *Writer) finish() {
	if w.css.on {
		w.css.end(0, w.ltOff, true)
	}
	if w.holdEl != elOther {
		if w.st == sRaw {
			// The page ended inside the content: it ends there.
			w.ltOff = len(w.hb.held)
		}
		w.finishHeld(0)
		return
	}
	w.hb.release()
}
