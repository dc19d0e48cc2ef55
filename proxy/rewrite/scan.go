package rewrite

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// state is the tokenizer state, after the WHATWG HTML tokenizer; states
// the rewriter does not need to tell apart are merged.
type state uint8

const (
	sText state = iota
	sTagOpen
	sEndTagOpen
	sTagName
	sBeforeAttrName
	sAttrName
	sAfterAttrName
	sBeforeAttrValue
	sAttrValueDQ
	sAttrValueSQ
	sAttrValueUnq
	sAfterAttrValueQ
	sSelfClosing
	sMarkupDecl
	sComment
	sBogusComment
	sCDATA
	sRaw
	sPlaintext
)

// sstate is the state inside raw text: RAWTEXT and RCDATA elements, and
// script data with its escaped and double-escaped states.
type sstate uint8

const (
	rData sstate = iota
	rLt
	rEndName
	rEscStart
	rEscStartDash
	rEsc
	rEscDash
	rEscDashDash
	rEscLt
	rDblStart
	rDbl
	rDblDash
	rDblDashDash
	rDblLt
	rDblEnd
)

// The escaped states and the double-escaped ones go in the same order
// (tokenizer.dashes).
var (
	_ = [1]int{}[rDblDashDash-rDbl-(rEscDashDash-rEsc)]
	_ = [1]int{}[rDblLt-rDbl-(rEscLt-rEsc)]
)

// tokenizer is the HTML tokenizer's state from one Write to the next:
// where in the grammar the input stopped (st, and ss inside raw text) and
// what of the current token it still needs. Its methods are the parts of
// the grammar that depend on nothing else (markup declarations, the end of
// a comment, the escaped states of script data, an end tag's name in raw
// text). The Writer's scan drives it over the input and acts on what it
// finds: holding, emitting, and the element decisions (decide.go).
type tokenizer struct {
	st state

	// Tag being tokenized.
	isEnd       bool
	selfClosing bool
	nameLen     int
	name        [24]byte // the longest name told apart is "amp-facebook-comments"

	// Markup declarations, comments, CDATA.
	mk   int     // bytes of "--" or "[CDATA[" matched after "<!"
	mkc  byte    // '-' or '['
	cn   int     // comment/CDATA content bytes seen, capped
	last [3]byte // last content bytes of a comment or CDATA section

	// Raw text.
	rawEl elem
	ss    sstate
	ret   sstate   // where a failed end tag candidate returns
	tb    [16]byte // name after "</" or "<" in raw text
	tbn   int
}

// scan tokenizes w.hb.in from its start, in state w.st, emitting and holding
// as it goes. It returns at the end of the input or on a write error.
func (w *Writer) scan() {
	in := w.hb.in
	i := 0
	for i < len(in) && w.hb.err == nil {
		switch w.st {
		case sText:
			j := bytes.IndexByte(in[i:], '<')
			if j < 0 {
				return
			}
			i += j
			w.hb.startHold(i) // a start tag is held until its name is known
			w.st = sTagOpen
			i++
			// Fast path: a tag name that ends in this input is read here.
			k := i
			if k < len(in) && in[k] == '/' {
				k++
			}
			if k == len(in) || !isAlpha(in[k]) {
				continue
			}
			e := nameEnd(in, k+1)
			if e == len(in) {
				continue
			}
			plain := in[e] == '>' && !w.hb.drop
			if plain && k > i && w.phDepth == 0 && (w.foreign == 0 || !foreignEnd(in[k:e])) {
				// "</name>" outside removed content changes nothing, but
				// for the few end tags that foreign content acts on. The
				// hold started here holds nothing.
				w.hb.release()
				w.st = sText
				i = e + 1
				continue
			}
			el := elOther
			if n := e - k; n < len(elemTab[0]) {
				if t := &elemTab[in[k]&31][n]; t[0] != elOther {
					el = lookupElemIn(in[k:e], t)
				}
			}
			if el == elOther && ampName(in[k:e]) {
				el = lookupAmp(in[k:e])
			}
			if plain && el == elOther && w.stubDone {
				// So does "<name>" of an element the rewriter does not tell
				// apart, once the stub is out, in foreign content too.
				w.hb.release()
				w.st = sText
				i = e + 1
				continue
			}
			w.isEnd = k > i
			if w.isEnd {
				w.hb.release()
			}
			i = w.nameFound(in, e, el)
		case sTagOpen:
			i += w.tagOpen(in[i])
		case sEndTagOpen:
			i += w.endTagOpen(in[i])
		case sTagName:
			if i = w.tagName(in, i); i == len(in) {
				return
			}
		case sBeforeAttrName, sAttrName, sAfterAttrName, sBeforeAttrValue,
			sAttrValueDQ, sAttrValueSQ, sAttrValueUnq, sAfterAttrValueQ, sSelfClosing:
			i = w.tagAttrs(in, i)
		case sMarkupDecl:
			i += w.markupDecl(in[i], w.foreign > 0)
		case sComment, sCDATA:
			i = w.comment(in, i)
		case sBogusComment:
			j := bytes.IndexByte(in[i:], '>')
			if j < 0 {
				return
			}
			w.st = sText
			i += j + 1
		case sRaw:
			i = w.raw(in, i)
		case sPlaintext:
			return
		}
	}
}

// foreignEnd reports whether an end tag of this name does something in
// foreign content: svg and math end it (Writer.foreign), script ends an
// SVG script (scriptEnd).
func foreignEnd(name []byte) bool {
	switch len(name) {
	case 3:
		return lowerEq(name, "svg")
	case 4:
		return lowerEq(name, "math")
	case 6:
		return lowerEq(name, "script")
	}
	return false
}

// nameFound goes on from the end of a tag's name, el, at in[e], and
// returns where scanning goes on.
func (w *Writer) nameFound(in []byte, e int, el elem) int {
	w.elemDone(e, el)
	i := e + 1
	switch in[e] {
	case '>':
		w.tagDone(e)
		return i
	case '/':
		w.st = sSelfClosing
	default:
		w.st = sBeforeAttrName
	}
	if i < len(in) && w.hb.err == nil {
		// A link is held for its ping attribute (and style): without
		// them, it is a tag like any other.
		link := w.interesting && (w.el == elA || w.el == elArea)
		if !w.interesting || link {
			if g, sc := skipAttrs(in, e, link); g >= 0 && (!link || w.hb.off(g) < MaxTag) {
				if link {
					w.interesting = false
					w.hb.release()
				}
				w.selfClosing = sc
				return w.closeTag(g)
			}
		}
		i = w.tagAttrs(in, i)
	}
	return i
}

// skipAttrs reads the attributes of a tag that is not held from in[i], the
// byte that ended its name (white space or '/'), if they have the usual
// shape: names, each alone or with a quoted value after '=' (white space
// around the '=' allowed), and '/' between them. It returns the index of
// the '>' that ends the tag and whether a '/' came right before it
// (self-closing); or -1 if anything else comes (an unquoted or empty value,
// a name that starts with '=', a style attribute, with ping a ping
// attribute, the end of the input), and then the attribute states read the
// tag from in[i]. Most tags of a page are read here, without the states'
// bookkeeping.
func skipAttrs(in []byte, i int, ping bool) (int, bool) {
	for i < len(in) {
		switch c := in[i]; {
		case class[c]&cSpace != 0:
			i++
			continue
		case c == '/':
			// Self-closing start tag state: a '/' not before '>' is
			// ignored.
			if i++; i < len(in) && in[i] == '>' {
				return i, true
			}
			continue
		case c == '>':
			return i, false
		case c == '=':
			return -1, false
		}
		ns := i
		i = attrNameEnd(in, i)
		if i-ns == 5 && lowerEq(in[ns:i], "style") || ping && i-ns == 4 && lowerEq(in[ns:i], "ping") {
			return -1, false
		}
		if i = spaceEnd(in, i); i == len(in) || in[i] != '=' {
			continue // '/', '>' or the next name
		}
		if i = spaceEnd(in, i+1); i == len(in) || in[i] != '"' && in[i] != '\'' {
			return -1, false
		}
		j := quote(in[i+1:], in[i])
		if j < 0 {
			return -1, false
		}
		i += j + 2
	}
	return -1, false
}

// tagOpen reads c, the byte after '<', and returns how many bytes it
// consumed.
func (w *Writer) tagOpen(c byte) int {
	switch {
	case isAlpha(c):
		w.nameStart(false)
		return 0
	case c == '/':
		if w.phDepth == 0 {
			// Inside a placeholder an end tag is held until its
			// name is known (elemDone).
			w.hb.release()
		}
		w.st = sEndTagOpen
		return 1
	case c == '!':
		w.hb.release()
		w.st, w.mk = sMarkupDecl, 0
		return 1
	case c == '?':
		w.hb.release()
		w.st = sBogusComment
	default:
		w.hb.release()
		w.st = sText
	}
	return 0
}

// nameStart starts a tag name, of an end tag if end.
func (t *tokenizer) nameStart(end bool) {
	t.isEnd, t.nameLen, t.st = end, 0, sTagName
}

// endTagOpen reads c, the byte after "</", and returns how many bytes it
// consumed.
func (w *Writer) endTagOpen(c byte) int {
	switch {
	case isAlpha(c):
		w.nameStart(true)
		return 0
	case c == '>':
		w.hb.release() // held inside a placeholder
		w.st = sText
		return 1
	default:
		w.hb.release()
		w.st = sBogusComment
		return 0
	}
}

// tagName reads a tag name from in[i] on, which an earlier Write or the
// fast path in scan did not finish. It returns len(in) if the name goes
// on past the input, else where scanning goes on.
func (w *Writer) tagName(in []byte, i int) int {
	n := w.nameLen
	for ; i < len(in); i++ {
		c := in[i]
		if c == '>' || c == '/' || isSpace(c) {
			break
		}
		if n < len(w.name) {
			w.name[n] = lower(c)
		}
		n++
	}
	w.nameLen = n
	if i == len(in) {
		return i
	}
	el := elOther
	if n <= len(w.name) {
		el = lookupElem(w.name[:n])
	}
	return w.nameFound(in, i, el)
}

// markupDecl reads c after "<!" and returns how many bytes it consumed
// (0: c is read again in the state set). CDATA sections exist only in
// foreign content; in HTML "<![CDATA[" opens a bogus comment that ends at
// '>'.
func (t *tokenizer) markupDecl(c byte, foreign bool) int {
	switch {
	case t.mk == 0 && c == '-':
		t.mkc, t.mk = '-', 1
	case t.mk == 0 && c == '[' && foreign:
		t.mkc, t.mk = '[', 1
	case t.mk > 0 && t.mkc == '-' && c == '-':
		t.st, t.cn = sComment, 0
	case t.mk > 0 && t.mkc == '[' && c == "[CDATA["[t.mk]:
		t.mk++
		if t.mk == len("[CDATA[") {
			t.st, t.cn = sCDATA, 0
		}
	default:
		t.st = sBogusComment
		return 0
	}
	return 1
}

// comment reads the content of a comment or CDATA section from in[i] and
// returns where it stopped: past the '>' that ends it, or len(in).
func (t *tokenizer) comment(in []byte, i int) int {
	for {
		j := bytes.IndexByte(in[i:], '>')
		if j < 0 {
			t.content(in[i:])
			return len(in)
		}
		t.content(in[i : i+j])
		if t.closes() {
			t.st = sText
			return i + j + 1
		}
		t.content(in[i+j : i+j+1])
		i += j + 1
	}
}

// content records the last bytes of a comment or CDATA section.
func (t *tokenizer) content(b []byte) {
	for _, c := range b[max(0, len(b)-3):] {
		t.last[0], t.last[1], t.last[2] = t.last[1], t.last[2], c
	}
	t.cn = min(t.cn+len(b), 3)
}

// closes reports whether a '>' now ends the comment or CDATA section: "-->"
// or "--!>", where "<!-->" and "<!--->" count (HTML tokenizer, comment start
// and comment end states), or "]]>".
func (t *tokenizer) closes() bool {
	n, l := t.cn, t.last
	if t.st == sCDATA {
		return n >= 2 && l[1] == ']' && l[2] == ']'
	}
	return n == 0 || n == 1 && l[2] == '-' ||
		n >= 2 && l[1] == '-' && l[2] == '-' ||
		n >= 3 && l[0] == '-' && l[1] == '-' && l[2] == '!'
}

// raw scans raw text from in[i] and returns where it stopped: the end of
// the input, or past the delimiter of the element's end tag, in a tag state.
func (w *Writer) raw(in []byte, i int) int {
	for i < len(in) {
		c := in[i]
		switch w.ss {
		case rData:
			j := bytes.IndexByte(in[i:], '<')
			if w.css.on {
				e := len(in)
				if j >= 0 {
					e = i + j
				}
				w.css.scan(in, i, e)
			}
			if j < 0 {
				return len(in)
			}
			i += j
			if w.css.on {
				w.css.lt(i)
			}
			w.lt(i)
			w.ss = rLt
			i++
		case rLt:
			switch {
			case c == '/':
				w.ss, w.tbn = rEndName, 0
				w.ret = rData
				i++
			case c == '!' && w.rawEl == elScript:
				w.ss = rEscStart
				i++
			default:
				w.ss = rData
				if w.css.on {
					w.css.replay(false, nil, 0)
				}
			}
		case rEndName:
			if w.endNameByte(c) {
				i++
				continue
			}
			if w.endsRaw(c) {
				return w.rawEnd(i, c)
			}
			w.ss = w.ret
			if w.css.on {
				w.css.replay(true, w.tb[:], w.tbn)
			}
		default:
			n, lt := w.escaped(c)
			if lt {
				w.lt(i)
			}
			i += n
		}
	}
	return i
}

// endNameByte adds c to the name after "</" in raw text if it can be part
// of the element's name, and reports whether it was.
func (t *tokenizer) endNameByte(c byte) bool {
	if !isAlpha(c) && (c != '-' || t.rawEl != elAmpAnalytics) {
		return false
	}
	t.nameByte(c)
	return true
}

// nameByte adds c to the name after '<' or "</" in raw text (tb), which
// keeps its first bytes.
func (t *tokenizer) nameByte(c byte) {
	if t.tbn < len(t.tb) {
		t.tb[t.tbn] = lower(c)
	}
	t.tbn++
}

// endsRaw reports whether c, after the name that followed "</" in raw
// text, makes that the end tag of the raw text element.
func (t *tokenizer) endsRaw(c byte) bool {
	return (c == '>' || c == '/' || isSpace(c)) && t.tbn == len(elemNames[t.rawEl]) &&
		string(t.tb[:t.tbn]) == elemNames[t.rawEl]
}

// rawEnd goes on from the end tag of raw text whose name ends at in[i], c. Its
// attributes are tokenized (and ignored) like a start tag's. It returns
// where scanning goes on.
func (w *Writer) rawEnd(i int, c byte) int {
	if w.css.on {
		w.css.end(i, w.ltOff, false)
	}
	w.isEnd, w.el, w.interesting, w.selfClosing = true, w.rawEl, false, false
	switch c {
	case '>':
		w.tagDone(i)
	case '/':
		w.st = sSelfClosing
	default:
		w.st = sBeforeAttrName
	}
	return i + 1
}

// escaped reads c in the escaped and double-escaped states of script data
// ("<!--" in a script, HTML tokenizer 13.2.5.17 to 13.2.5.31). It returns
// how many bytes it consumed (0: c is read again in the state set), and
// lt when c is a '<' that may start the script's end tag.
func (t *tokenizer) escaped(c byte) (n int, lt bool) {
	switch t.ss {
	case rEscStart, rEscStartDash:
		if c != '-' {
			t.ss = rData
			return 0, false
		}
		if t.ss == rEscStart {
			t.ss = rEscStartDash
		} else {
			t.ss = rEscDashDash
		}
		return 1, false
	case rEsc, rEscDash, rEscDashDash:
		return 1, t.dashes(c, rEsc)
	case rEscLt:
		switch {
		case c == '/':
			t.ss, t.tbn, t.ret = rEndName, 0, rEsc
			return 1, false
		case isAlpha(c):
			t.ss, t.tbn = rDblStart, 0
		default:
			t.ss = rEsc
		}
		return 0, false
	case rDblStart, rDblEnd:
		return t.dblName(c), false
	case rDbl, rDblDash, rDblDashDash:
		t.dashes(c, rDbl)
		return 1, false
	case rDblLt:
		if c == '/' {
			t.ss, t.tbn = rDblEnd, 0
			return 1, false
		}
		t.ss = rDbl
	}
	return 0, false
}

// dashes reads c in the text states of escaped script data (base rEsc:
// escaped, escaped dash, escaped dash dash) or of double-escaped script
// data (base rDbl), which go the same way, and reports whether c is a '<'
// (the less-than sign state, base+3).
func (t *tokenizer) dashes(c byte, base sstate) bool {
	switch {
	case c == '-':
		t.ss = min(t.ss+1, base+2)
	case c == '<':
		t.ss = base + 3
		return true
	case c == '>' && t.ss == base+2:
		t.ss = rData
	default:
		t.ss = base
	}
	return false
}

// dblName reads c in script data double escape start (rDblStart) or end
// (rDblEnd): the name after '<' or "</" decides whether "script" begins or
// ends double escaping. It returns how many bytes it consumed.
func (t *tokenizer) dblName(c byte) int {
	if isAlpha(c) {
		t.nameByte(c)
		return 1
	}
	isScript := t.tbn == 6 && string(t.tb[:6]) == "script"
	start := t.ss == rDblStart
	if c != '>' && c != '/' && !isSpace(c) {
		// Reconsumed in the escaped (start) or double-escaped (end) state.
		t.ss = rDbl
		if start {
			t.ss = rEsc
		}
		return 0
	}
	// "<script" starts double escaping, "</script" ends it; another name
	// leaves the state as it was.
	if start == isScript {
		t.ss = rDbl
	} else {
		t.ss = rEsc
	}
	return 1
}

// lt notes the '<' at in[i] that may start the end tag of held content.
func (w *Writer) lt(i int) {
	w.ltPage = w.hb.base + int64(i) // where a script's content may end (Script.Content)
	if w.hb.hold {
		w.ltOff = w.hb.off(i)
	}
}

// contentEnd is where held content ends as far as is known: before a
// pending candidate end tag, else at the end of what is held.
func (w *Writer) contentEnd() int {
	if w.st != sRaw {
		return w.ltOff
	}
	switch w.ss {
	case rLt, rEndName, rEscLt:
		return w.ltOff
	}
	return len(w.hb.held)
}

// Byte classes of the tag states.
const (
	cSpace   = 1 << iota // tab, LF, FF, CR, space
	cNameEnd             // ends a tag name: space, '/', '>'
	cAttrEnd             // ends an attribute name: space, '/', '>', '='
	cUnqEnd              // ends an unquoted attribute value: space, '>'
)

var class = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\f") {
		t[c] = cSpace | cNameEnd | cAttrEnd | cUnqEnd
	}
	t['/'] = cNameEnd | cAttrEnd
	t['>'] = cNameEnd | cAttrEnd | cUnqEnd
	t['='] = cAttrEnd
	return t
}()

// attrStates runs the attribute states of a tag (before attribute name through
// self-closing start tag) from in[i], in state w.st. It returns past the
// '>' that ends the tag, after tagDone set the next state, or at the end of
// the input with the state saved. The attributes are recorded only for a
// held tag (w.interesting); for every other start tag this only finds the
// '>' and the first style attribute, whose value is held (style.go).
func (w *Writer) attrStates(in []byte, i int) int {
	st := w.st
	rec := w.interesting
	sty := !rec && !w.hb.drop && !w.isEnd
	ns := -1 // start of the attribute name in in; -1: in an earlier Write
	for i < len(in) {
		switch st {
		case sBeforeAttrName, sAfterAttrName:
			if i = spaceEnd(in, i); i == len(in) {
				w.st = st
				return i
			}
			c := in[i]
			switch {
			case c == '/':
				st = sSelfClosing
				i++
				continue
			case c == '>':
				return w.closeTag(i)
			case c == '=' && st == sAfterAttrName:
				st = sBeforeAttrValue
				i++
				continue
			}
			if rec {
				w.attrBegin(i)
			}
			ns = i
			st = sAttrName
			if c == '=' { // before an attribute name, '=' starts one
				i++
			}
			fallthrough
		case sAttrName:
			i = attrNameEnd(in, i)
			if i == len(in) {
				if sty {
					w.partName(in, ns)
				}
				w.st = sAttrName
				return i
			}
			if rec {
				w.attrNameDone(in, i)
			} else if sty {
				w.spend = (ns < 0 || i-ns == 5) && w.styleName(in, ns, i)
			}
			switch in[i] {
			case '=':
				st = sBeforeAttrValue
			case '>':
				return w.closeTag(i)
			case '/':
				st = sSelfClosing
				i++
				continue
			default:
				st = sAfterAttrName
				i++
				continue
			}
			i++
			if i == len(in) {
				w.st = st
				return i
			}
			fallthrough
		case sBeforeAttrValue:
			if i = spaceEnd(in, i); i == len(in) {
				w.st = sBeforeAttrValue
				return i
			}
			switch c := in[i]; c {
			case '"', '\'':
				if rec {
					w.valBegin(i + 1)
				} else if w.spend {
					w.styleBegin(i+1, false)
				}
				st = sAttrValueDQ
				if c == '\'' {
					st = sAttrValueSQ
				}
				i++
			case '>':
				return w.closeTag(i)
			default:
				if rec {
					w.valBegin(i)
				} else if w.spend {
					w.styleBegin(i, true)
				}
				st = sAttrValueUnq
			}
		case sAttrValueDQ, sAttrValueSQ:
			q := byte('"')
			if st == sAttrValueSQ {
				q = '\''
			}
			j := quote(in[i:], q)
			if j < 0 {
				w.st = st
				return len(in)
			}
			i += j
			if rec {
				w.valDone(i, i+1)
			} else if w.sval {
				w.styleDone(i)
			}
			st = sAfterAttrValueQ
			i++
		case sAttrValueUnq:
			for i < len(in) && class[in[i]]&cUnqEnd == 0 {
				i++
			}
			if i == len(in) {
				w.st = st
				return i
			}
			if rec {
				w.valDone(i, i)
			} else if w.sval {
				w.styleDone(i)
			}
			if in[i] == '>' {
				return w.closeTag(i)
			}
			st = sBeforeAttrName
			i++
		case sAfterAttrValueQ:
			switch c := in[i]; {
			case c == '/':
				st = sSelfClosing
				i++
			case c == '>':
				return w.closeTag(i)
			case class[c]&cSpace != 0:
				st = sBeforeAttrName
				i++
			default:
				st = sBeforeAttrName
			}
		case sSelfClosing:
			if in[i] == '>' {
				w.selfClosing = true
				return w.closeTag(i)
			}
			st = sBeforeAttrName
		}
	}
	w.st = st
	return i
}

// spaceEnd returns the index of the first byte at or after i that is not
// white space, or len(in).
func spaceEnd(in []byte, i int) int {
	for i < len(in) && class[in[i]]&cSpace != 0 {
		i++
	}
	return i
}

// Words of eight input bytes let the loops over names and short values
// skip the bytes that cannot end them eight at a time (SWAR): a candidate
// word marks, in the top bit of each byte, the bytes that may; below the
// lowest mark the marks are exact, so the byte loop that follows starts at
// the first candidate and decides.
const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// zeros marks the zero bytes of x.
func zeros(x uint64) uint64 { return (x - ones) & ^x & high }

// nameEnd returns the index of the first byte at or after i that ends a
// tag name (space, '/', '>'), or len(in).
func nameEnd(in []byte, i int) int { return wordEnd(in, i, '/', cNameEnd) }

// attrNameEnd returns the index of the first byte at or after i that ends
// an attribute name (space, '/', '>', '='), or len(in).
func attrNameEnd(in []byte, i int) int { return wordEnd(in, i, '=', cAttrEnd) }

// wordEnd returns the index of the first byte at or after i of the class
// cls, or len(in): bytes up to ' ', '/', '>' and also c, eight at a time.
func wordEnd(in []byte, i int, c byte, cls uint8) int {
	for ; i+8 <= len(in); i += 8 {
		x := binary.LittleEndian.Uint64(in[i:])
		// Bytes below 0x21 cover the white space.
		if m := (x-0x21*ones)&^x&high | zeros(x^'/'*ones) | zeros(x^'>'*ones) | zeros(x^uint64(c)*ones); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			break
		}
	}
	for i < len(in) && class[in[i]]&cls == 0 {
		i++
	}
	return i
}

// quote returns the index of the first q in b, or -1: bytes.IndexByte,
// with short values found inline.
func quote(b []byte, q byte) int {
	if len(b) >= 16 {
		x, y := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		if m := zeros(x ^ uint64(q)*ones); m != 0 {
			return bits.TrailingZeros64(m) >> 3
		}
		if m := zeros(y ^ uint64(q)*ones); m != 0 {
			return 8 + bits.TrailingZeros64(m)>>3
		}
		if j := bytes.IndexByte(b[16:], q); j >= 0 {
			return 16 + j
		}
		return -1
	}
	return bytes.IndexByte(b, q)
}

// closeTag ends the tag at the '>' at in[i] and returns where scanning goes on.
func (w *Writer) closeTag(i int) int {
	w.tagDone(i)
	return i + 1
}
