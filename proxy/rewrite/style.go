package rewrite

import (
	"bytes"
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
)

// Style attributes. The CSS of a style attribute loads what url(...) and
// image-set strings name, like a style element's (css.go), on any element.
// For a tag that is not held, the tokenizer only tells, when an attribute
// name ends, whether it is the tag's first "style" (five bytes, compared
// only when the name has five); only then is the value held, from its
// first byte to its end (within MaxTag), and decided there (styleDone).
// A held tag (img, iframe, ...) records its style attribute with the
// others and decide checks it (tagStyle). Browsers use the first style
// attribute of a tag; repeats are ignored, here too.
//
// The value is decoded (character references) and scanned whole. Each
// denied url(...) argument or image-set string is deleted, bytes only;
// when the value held a character reference, its raw and decoded offsets
// differ, and the whole value is deleted instead (quotes kept; an unquoted
// value keeps its first byte, so the next attribute stays one). Each
// deleted URL is a Removal with Element "style". A value longer than
// MaxTag is deleted, whatever it holds (Stats.Oversize).

// styleName reports whether the attribute name that ends at in[i] and
// starts at in[ns] (ns < 0: in an earlier Write, see partName) is the
// first style attribute of the tag; it notes that the tag has one.
func (w *Writer) styleName(in []byte, ns, i int) bool {
	var ok bool
	if ns >= 0 {
		ok = lowerEq(in[ns:i], "style")
	} else {
		if w.pn+i != 5 {
			return false
		}
		var b [5]byte
		copy(b[copy(b[:], w.pb[:w.pn]):], in[:i])
		ok = lowerEq(b[:], "style")
	}
	if !ok || w.sseen {
		return false
	}
	w.sseen = true
	return true
}

// partName notes the part of an attribute name from in[ns] (ns < 0: from
// in[0], the name went on from an earlier Write) to the end of the input.
func (w *Writer) partName(in []byte, ns int) {
	if ns >= 0 {
		w.pn = 0
		in = in[ns:]
	}
	if w.pn < len(w.pb) {
		copy(w.pb[w.pn:], in)
	}
	w.pn += len(in)
}

// styleBegin holds the value of the first style attribute of a tag that
// is not held, from in[i]; unq says the value is not quoted.
func (w *Writer) styleBegin(i int, unq bool) {
	w.spend = false
	w.sval, w.sunq = true, unq
	w.hb.startHold(i)
}

// keep is what stays of a style attribute value all that is deleted whole:
// nothing when it is quoted; its first byte when it is not, or the
// tokenizer would read the next attribute ("style= class=a") as its value.
func (w *Writer) keep(all []byte) []byte {
	if w.sunq && len(all) > 0 {
		return all[:1]
	}
	return nil
}

// styleDone decides the held style attribute value that ends at in[i].
func (w *Writer) styleDone(i int) {
	w.sval = false
	if w.sdrop {
		// Past MaxTag: deleted through here.
		w.hb.emitTo(i)
		w.hb.drop, w.sdrop = false, false
		return
	}
	all := w.hb.region(i)
	if len(all) > MaxTag {
		w.rep.stats.Oversize++
		w.hb.replace(i, w.keep(all))
		return
	}
	d, dec, ok := w.styleCSS(all)
	if !ok || w.styleCuts(d) == 0 {
		w.hb.release()
		return
	}
	w.hb.flush()
	if dec {
		w.hb.write(w.keep(all))
	} else {
		prev := 0
		for k := 0; k < len(w.cuts); k += 2 {
			w.hb.write(all[prev:w.cuts[k]])
			prev = w.cuts[k+1]
		}
		w.hb.write(all[prev:])
	}
	w.hb.dropHeld(i)
	w.hb.changed = true
}

// tagStyle deletes the denied URLs of the style attribute of the held tag
// that ends before in[j], in place, and returns the tag.
func (w *Writer) tagStyle(tag []byte, j int) []byte {
	k := -1
	for n := range w.attrs {
		if w.attrs[n].kind == aStyle && !w.attrs[n].dup {
			k = n
			break
		}
	}
	if k < 0 || w.attrs[k].vs < 0 {
		return tag
	}
	vs, ve := w.attrs[k].vs, w.attrs[k].ve
	d, dec, ok := w.styleCSS(tag[vs:ve])
	if !ok || w.styleCuts(d) == 0 {
		return tag
	}
	if dec {
		// Deleted whole; an unquoted value keeps its first byte (see keep).
		first := 0
		if q := tag[vs-1]; q != '"' && q != '\'' {
			first = 1
		}
		w.cuts = append(w.cuts[:0], first, ve-vs)
	}
	b := w.hb.own(j) // a copy of the tag, to edit in place
	n, prev := vs, vs
	for c := 0; c < len(w.cuts); c += 2 {
		n += copy(b[n:], b[prev:vs+w.cuts[c]])
		prev = vs + w.cuts[c+1]
	}
	n += copy(b[n:], b[prev:])
	del := len(b) - n
	w.hb.setLen(n)
	shift := func(x *int) {
		if *x >= ve {
			*x -= del
		}
	}
	for m := range w.attrs {
		a := &w.attrs[m]
		shift(&a.ns)
		shift(&a.ne)
		shift(&a.vs)
		shift(&a.ve)
		shift(&a.end)
	}
	w.tagEnd = n
	w.hb.changed = true
	return b[:n]
}

// styleCSS returns the CSS of a style attribute value v: v with its
// character references decoded (in w.sdec), whether there were any, and
// whether it may load anything at all (holds a '(').
func (w *Writer) styleCSS(v []byte) (css []byte, dec, ok bool) {
	if bytes.IndexByte(v, '&') < 0 {
		return v, false, bytes.IndexByte(v, '(') >= 0
	}
	b := w.sdec[:0]
	for i := 0; i < len(v); {
		if v[i] == '&' {
			if r, n := charRef(v[i:]); n > 0 {
				b = utf8.AppendRune(b, r)
				i += n
				dec = true
				continue
			}
		}
		b = append(b, v[i])
		i++
	}
	w.sdec = b
	return b, dec, bytes.IndexByte(b, '(') >= 0
}

// styleCuts classifies the URLs of the CSS d of a style attribute, as
// cssVerdict does those of a style element, records each denied one and
// sets w.cuts to their ranges in d. It returns how many there are.
func (w *Writer) styleCuts(d []byte) int {
	w.cuts = w.cuts[:0]
	it := cssIter{d: d}
	for {
		s, e, str, ok := it.next()
		if !ok {
			break
		}
		w.out = appendCSSURL(w.out[:0], d[s:e], str)
		if v := w.cl.classify(w.cl.clean(w.out, false)); v != nil {
			w.rep.record(v, elStyle, rules.Remove)
			w.cuts = append(w.cuts, s, e)
		}
	}
	return len(w.cuts) / 2
}

// cssIter finds the URL tokens of a complete piece of CSS, as the
// streaming scanner of style elements (cssScan) does: the argument of
// url(...) and the strings of image-set( and -webkit-image-set(; comments,
// other strings and escapes load nothing. @import has no meaning here.
type cssIter struct {
	d          []byte
	i          int
	depth, isd int // parenthesis depth; that of the innermost open image-set(, or 0
}

// next returns the next URL token d[s:e]: a url( argument (from after the
// '(' to before the ')', quotes included) or, with str, the contents of an
// image-set string. ok is false at the end of d.
func (it *cssIter) next() (s, e int, str, ok bool) {
	d := it.d
	i := it.i
	for i < len(d) {
		switch c := d[i]; c {
		case '/':
			if i+1 < len(d) && d[i+1] == '*' {
				k := bytes.Index(d[i+2:], []byte("*/"))
				if k < 0 {
					i = len(d)
					continue
				}
				i += 2 + k + 2
				continue
			}
		case '\\':
			i += 2
			continue
		case '"', '\'':
			e := cssStrEnd(d, i+1, c)
			if it.isd > 0 && it.depth == it.isd {
				it.i = e + 1
				return i + 1, e, true, true
			}
			i = e + 1
			continue
		case '(':
			id := identBefore(d, i)
			it.depth++
			switch {
			case lowerEq(id, "url"):
				it.depth--
				e := cssURLEnd(d, i+1)
				it.i = e + 1
				return i + 1, e, false, true
			case lowerEq(id, "image-set") || lowerEq(id, "-webkit-image-set"):
				it.isd = it.depth
			}
		case ')':
			if it.depth > 0 {
				it.depth--
			}
			if it.isd > it.depth {
				it.isd = 0
			}
		}
		i++
	}
	it.i = len(d)
	return 0, 0, false, false
}

// identBefore returns the identifier that ends before d[i], or nil when
// it is longer than 20 bytes (as cssState.ident).
func identBefore(d []byte, i int) []byte {
	k := i
	for k > 0 && isIdent(d[k-1]) {
		if k--; i-k > 20 {
			return nil
		}
	}
	return d[k:i]
}

// cssStrEnd returns the index of the end of the string that starts at
// d[i], after its quote q: its closing quote, a newline, or len(d).
func cssStrEnd(d []byte, i int, q byte) int {
	for i < len(d) {
		switch d[i] {
		case q, '\n':
			return i
		case '\\':
			i++
		}
		i++
	}
	return len(d)
}

// cssURLEnd returns the index of the ')' that ends the url( argument that
// starts at d[i], or len(d).
func cssURLEnd(d []byte, i int) int {
	for i < len(d) && isCSSSpace(d[i]) {
		i++
	}
	if i < len(d) && (d[i] == '"' || d[i] == '\'') {
		i = cssStrEnd(d, i+1, d[i]) + 1
	} else {
		for i < len(d) && d[i] != ')' {
			if d[i] == '\\' {
				i++
			}
			i++
		}
	}
	if i >= len(d) {
		return len(d)
	}
	if k := bytes.IndexByte(d[i:], ')'); k >= 0 {
		return i + k
	}
	return len(d)
}
