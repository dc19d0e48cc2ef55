package rewrite

import (
	"bytes"
	"strconv"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// Placeholders makes a removed embed leave a placeholder: see
// "Placeholders" in the package documentation.
type Placeholders struct {
	// Reason is the first sentence, why the embed is not loaded ("You
	// opted out of the sale and sharing of your personal information
	// (Global Privacy Control)."). It is written HTML-escaped.
	Reason string
	// Text is the sentence about the embed, with the fields {name},
	// {company} and {kind} of the vendor's rules.Embed; ""
	// is DefaultPlaceholderText.
	Text string
	// Button is the label of the button that loads the embed, with {name}
	// and {kind}; "" is DefaultPlaceholderButton. The button is there only
	// with Policy.Guard: the runtime guard is what makes it work.
	Button string
	// Key is written into each button as data-consentgate-key: the random
	// value of this response that the runtime guard takes from the head
	// (see proxy/guard) to tell the proxy's placeholders from any a page
	// script makes. Only letters, digits, '-' and '_' are written.
	Key string
}

// The default texts of a placeholder.
const (
	DefaultPlaceholderText   = "Loading this {name} {kind} shares data with {company}."
	DefaultPlaceholderButton = "Load {kind}"
)

// The markup of a placeholder around the original element, whose bytes
// stay between them inside the template: phOpen, the data-consentgate-embed
// value (the vendor id), phStyle, the style, phTemplate; after the
// element, phText, the text, the button (phButton, label, phButtonEnd) and
// phEnd. tmplOpen is inserted before an end tag that would close the
// template early. The runtime guard (proxy/guard) reads the same names.
const (
	phOpen      = `<span class="consentgate-placeholder" data-consentgate-embed="`
	phStyle     = `" style="`
	phTemplate  = `"><template data-consentgate-original>`
	phText      = `</template><span class="consentgate-placeholder-text">`
	phButton    = `</span><button type="button" class="consentgate-placeholder-load" data-consentgate-load style="` + phButtonCSS + `"`
	phKey       = ` data-consentgate-key="`
	phButtonEnd = `</button>`
	phNoButton  = `</span>`
	phEnd       = `</span>`
	tmplOpen    = `<template>`

	phCSS       = `display:inline-flex;flex-direction:column;align-items:center;justify-content:center;gap:12px;box-sizing:border-box;max-width:100%;overflow:auto;margin:0;padding:16px;border:1px solid #98a2b3;border-radius:6px;background:#f2f4f7;color:#1d2939;font:15px/1.45 system-ui,sans-serif;text-align:center;vertical-align:middle;`
	phButtonCSS = `font:inherit;font-weight:600;margin:0;padding:8px 18px;border:0;border-radius:4px;background:#1d2939;color:#fff;cursor:pointer`
)

var tmplOpenBytes = []byte(tmplOpen)

// minPlaceholder is the smallest size, in CSS pixels, either way, of an
// embed that gets a placeholder: below it the element is a hidden frame,
// a pixel or a button, and is removed without one.
const minPlaceholder = 50

// kindNouns are the words {kind} becomes, by rules.Embed.Kind.
var kindNouns = map[string]string{"video": "video", "map": "map", "social": "post", "audio": "player"}

// placeholderFor returns the embed of v if the held element el, being
// removed, gets a placeholder: the policy asks for them, v is an embed,
// the element is an iframe (whose src or data-src is one of v's embeds)
// or an AMP embed component, it is not inside another placeholder,
// foreign content, a noscript or a srcdoc document, and it is not hidden
// or smaller than minPlaceholder.
func (w *Writer) placeholderFor(tag []byte, el elem, v *rules.Vendor) *rules.Embed {
	if w.p.Placeholders == nil || v.Embed == nil || w.nested || w.phDepth > 0 || w.foreign > 0 {
		return nil
	}
	switch {
	case el == elIframe:
		if !w.embedURL(tag, v) {
			return nil
		}
	case el.ampNamed():
	default:
		return nil
	}
	for _, a := range w.attrs {
		if a.dup || a.vs < 0 && a.kind != aHidden {
			continue
		}
		switch a.kind {
		case aHidden:
			return nil
		case aStyle:
			if hiddenCSS(tag[a.vs:a.ve]) {
				return nil
			}
		}
	}
	sz := w.embedSize(tag)
	if sz.layout == "nodisplay" || !sz.ratio() && (sz.wu == "px" && sz.wn < minPlaceholder || sz.hu == "px" && sz.hn < minPlaceholder) {
		return nil
	}
	return v.Embed
}

// embedURL reports whether the iframe's src or data-src is a URL of v
// whose path is one of v's embeds (rules.Embed.Paths).
func (w *Writer) embedURL(tag []byte, v *rules.Vendor) bool {
	for _, a := range w.attrs {
		if a.dup || a.vs < 0 || a.kind != aSrc && a.kind != aDataSrc {
			continue
		}
		u := w.cl.clean(tag[a.vs:a.ve], false)
		h := urlhost.Find(u)
		if len(h) == 0 || w.cl.classify(u) != v {
			continue
		}
		// h is a part of u; the path starts at the first '/', '?' or '#'
		// after it (a port comes first).
		rest := u[cap(u)-cap(h)+len(h):]
		i := bytes.IndexAny(rest, "/?#")
		if i < 0 {
			rest = nil
		} else {
			rest = rest[i:]
		}
		if v.Embed.EmbedPath(rest) {
			return true
		}
	}
	return false
}

// size is the size of an embed as its element gives it: width and
// height (unit "" when not given, "px" for pixels) and, for an AMP
// component, its layout.
type size struct {
	wn, hn float64
	wu, hu string
	layout string
}

// ratio reports whether the width and height are an aspect ratio, not a
// size: an AMP component whose layout is responsive, intrinsic, fill,
// flex-item or fixed-height.
func (z size) ratio() bool {
	switch z.layout {
	case "responsive", "intrinsic", "fill", "flex-item", "fixed-height":
		return true
	}
	return false
}

// embedSize reads the size of the held element: its style's width and
// height win (CSS wins over attributes), else its width and height
// attributes.
func (w *Writer) embedSize(tag []byte) size {
	var z size
	var style []byte
	for _, a := range w.attrs {
		if a.dup || a.vs < 0 {
			continue
		}
		switch a.kind {
		case aWidth:
			z.wn, z.wu = dimension(tag[a.vs:a.ve])
		case aHeight:
			z.hn, z.hu = dimension(tag[a.vs:a.ve])
		case aStyle:
			style = tag[a.vs:a.ve]
		}
	}
	if n, u := dimension(cssValue(style, "width")); u != "" {
		z.wn, z.wu = n, u
	}
	if n, u := dimension(cssValue(style, "height")); u != "" {
		z.hn, z.hu = n, u
	}
	if w.el.ampNamed() {
		z.layout = w.ampLayout(tag)
	}
	return z
}

// ampLayout returns the held element's layout attribute, lower case, or "".
func (w *Writer) ampLayout(tag []byte) string {
	for _, a := range w.attrs {
		if a.kind == aLayout && !a.dup && a.vs >= 0 {
			v := bytes.TrimSpace(tag[a.vs:a.ve])
			for _, l := range [...]string{"responsive", "intrinsic", "fill", "flex-item", "fixed-height", "fixed", "container", "nodisplay"} {
				if bytes.EqualFold(v, []byte(l)) {
					return l
				}
			}
			return ""
		}
	}
	return ""
}

// placeholderStart returns the markup that opens the placeholder of the
// held element el (its start tag: tag) of vendor v: the placeholder
// element, its size, and the template that keeps the element inert.
// The size comes from the element's style (width and height there win, as
// CSS wins over attributes), else its width and height attributes (for
// an AMP component, read by its layout), else the kind's default.
func (w *Writer) placeholderStart(b, tag []byte, v *rules.Vendor, e *rules.Embed) []byte {
	z := w.embedSize(tag)
	wn, wu, hn, hu, layout := z.wn, z.wu, z.hn, z.hu, z.layout
	b = append(b, phOpen...)
	b = append(b, v.ID...) // ids are [a-z0-9._-]: nothing to escape
	b = append(b, phStyle...)
	b = append(b, phCSS...)
	switch {
	case (layout == "responsive" || layout == "intrinsic" || layout == "flex-item") && wu == "px" && hu == "px" && hn > 0:
		// The element fills its container's width at the ratio given.
		b = append(b, "width:100%;"...)
		if layout == "intrinsic" {
			b = appendSize(append(b, "max-width:"...), wn, wu)
			b = append(b, ';')
		}
		b = appendRatio(b, wn, hn)
	case layout == "fixed-height" && hu == "px":
		b = append(b, "width:100%;"...)
		b = appendSize(append(b, "height:"...), hn, hu)
		b = append(b, ';')
	case layout == "fill":
		b = append(b, "width:100%;height:100%;"...)
	case wu == "px" && hu == "px" && hn > 0:
		// A fixed size: kept at its ratio when the page is narrower.
		b = appendSize(append(b, "width:"...), wn, wu)
		b = append(b, ';')
		b = appendRatio(b, wn, hn)
	case wu != "" && hu != "":
		b = appendSize(append(b, "width:"...), wn, wu)
		b = appendSize(append(b, ";height:"...), hn, hu)
		b = append(b, ';')
	case wu != "":
		b = appendSize(append(b, "width:"...), wn, wu)
		b = append(b, ';')
		b = append(b, kindRatio(e.Kind)...)
	case hu != "":
		b = append(b, "width:100%;"...)
		b = appendSize(append(b, "height:"...), hn, hu)
		b = append(b, ';')
	default:
		b = append(b, "width:100%;"...)
		b = append(b, kindRatio(e.Kind)...)
	}
	return append(b, phTemplate...)
}

// kindRatio is the default size of an embed of a kind whose size the
// element does not give.
func kindRatio(kind string) string {
	switch kind {
	case "video":
		return "aspect-ratio:16/9;"
	case "map":
		return "aspect-ratio:4/3;"
	case "audio":
		return "height:166px;"
	}
	return "max-width:550px;min-height:240px;" // a social post
}

func appendSize(b []byte, n float64, unit string) []byte {
	b = strconv.AppendFloat(b, n, 'f', -1, 64)
	return append(b, unit...)
}

// appendRatio writes the aspect ratio w/h, with the height then following
// the width.
func appendRatio(b []byte, w, h float64) []byte {
	b = append(b, "aspect-ratio:"...)
	b = strconv.AppendFloat(b, w, 'f', -1, 64)
	b = append(b, '/')
	b = strconv.AppendFloat(b, h, 'f', -1, 64)
	return append(b, ";height:auto;"...)
}

// placeholderEnd returns the markup that closes the placeholder: the
// template's end, the text and, with the guard on the page, the button.
func (w *Writer) placeholderEnd(b []byte) []byte {
	b = append(b, phText...)
	ph := w.p.Placeholders
	e := w.phEmbed
	b = appendText(b, ph.Reason, nil)
	if len(ph.Reason) > 0 {
		b = append(b, ' ')
	}
	text := ph.Text
	if text == "" {
		text = DefaultPlaceholderText
	}
	b = appendText(b, text, e)
	if !w.p.Guard {
		return append(append(b, phNoButton...), phEnd...)
	}
	b = append(b, phButton...)
	if ph.Key != "" {
		b = append(b, phKey...)
		for i := 0; i < len(ph.Key); i++ {
			if c := ph.Key[i]; c == '-' || c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' {
				b = append(b, c)
			}
		}
		b = append(b, '"')
	}
	b = append(b, '>')
	label := ph.Button
	if label == "" {
		label = DefaultPlaceholderButton
	}
	b = appendText(b, label, e)
	b = append(b, phButtonEnd...)
	return append(b, phEnd...)
}

// appendText appends s HTML-escaped, with its fields {name}, {company}
// and {kind} replaced by those of e (rules.checkText has checked them).
func appendText(b []byte, s string, e *rules.Embed) []byte {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '{' {
			i++
		}
		b = appendEscaped(b, s[:i])
		s = s[i:]
		if len(s) == 0 {
			break
		}
		j := 1
		for j < len(s) && s[j] != '}' {
			j++
		}
		if j == len(s) || e == nil {
			b = appendEscaped(b, s[:j])
			s = s[j:]
			continue
		}
		switch s[1:j] {
		case "name":
			b = appendEscaped(b, e.Name)
		case "company":
			b = appendEscaped(b, e.Company)
		case "kind":
			b = appendEscaped(b, kindNouns[e.Kind])
		default:
			b = appendEscaped(b, s[:j+1])
		}
		s = s[j+1:]
	}
	return b
}

// appendEscaped appends s with &, <, >, " and ' escaped.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&#34;"...)
		case '\'':
			b = append(b, "&#39;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// dimension reads an HTML dimension or a CSS length: a number, then
// nothing or "px" (pixels), or "%", "em", "rem", "vw", "vh"; anything else
// (calc(), auto, a negative or zero size) gives unit "". A value written
// into the placeholder's style is only ever the number read here and one
// of these units.
func dimension(v []byte) (float64, string) {
	v = bytes.TrimSpace(v)
	if i := bytes.IndexByte(v, '!'); i >= 0 { // !important
		v = bytes.TrimSpace(v[:i])
	}
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i == 0 || i > 12 {
		return 0, ""
	}
	n, err := strconv.ParseFloat(string(v[:i]), 64)
	if err != nil || n <= 0 || n > 100000 {
		return 0, ""
	}
	u := bytes.TrimSpace(v[i:])
	if len(u) == 0 {
		return n, "px"
	}
	for _, unit := range [...]string{"px", "%", "em", "rem", "vw", "vh"} {
		if lowerEq(u, unit) {
			if unit == "%" && n > 100 {
				return 0, ""
			}
			return n, unit
		}
	}
	return 0, ""
}

// cssValue returns the value of the last declaration of property p in the
// declarations css (a style attribute), or nil. Property names match
// exactly after white space ("min-width" is not "width").
func cssValue(css []byte, p string) []byte {
	var val []byte
	for len(css) > 0 {
		d := css
		if i := bytes.IndexByte(css, ';'); i >= 0 {
			d, css = css[:i], css[i+1:]
		} else {
			css = nil
		}
		name, value, ok := bytes.Cut(d, []byte{':'})
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte(p)) {
			val = value
		}
	}
	return val
}

// hiddenCSS reports whether declarations css hide the element.
func hiddenCSS(css []byte) bool {
	d := bytes.TrimSpace(cssValue(css, "display"))
	v := bytes.TrimSpace(cssValue(css, "visibility"))
	return len(d) >= 4 && lowerEq(d[:4], "none") || len(v) >= 6 && lowerEq(v[:6], "hidden")
}

// placeholderEndTag is called when the name of an end tag, el, inside a
// placeholder's element is known, before any of its bytes are written
// (the tag is held from its '<'). An end tag of a template that the
// element did not open would close the placeholder's template early and
// make the rest of the element live: a template start tag goes before it,
// so it closes that instead.
func (w *Writer) placeholderEndTag(el elem) {
	if el == elTemplate && !w.hb.drop {
		if w.phTmpl > 0 {
			w.phTmpl--
		} else {
			w.hb.flush()
			w.hb.insert(tmplOpenBytes)
		}
	}
	w.hb.release()
}
