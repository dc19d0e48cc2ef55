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
			plain := in[e] == '>' && !w.hb.drop && w.foreign == 0
			if plain && k > i && w.phDepth == 0 {
				// "</name>" outside foreign content and removed content
				// changes nothing. The hold started here holds nothing.
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
				// apart, once the stub is out.
				w.hb.release()
				w.st = sText
				i = e + 1
				continue
			}
			w.isEnd = k > i
			if w.isEnd {
				w.hb.release()
			}
			w.elemDone(e, el)
			i = e + 1
			switch in[e] {
			case '>':
				w.tagDone(e)
				continue
			case '/':
				w.st = sSelfClosing
			default:
				w.st = sBeforeAttrName
			}
			if i < len(in) && w.hb.err == nil {
				i = w.tagAttrs(in, i)
			}
		case sTagOpen:
			switch c := in[i]; {
			case isAlpha(c):
				w.isEnd = false
				w.nameLen = 0
				w.st = sTagName
			case c == '/':
				if w.phDepth == 0 {
					// Inside a placeholder an end tag is held until its
					// name is known (elemDone).
					w.hb.release()
				}
				w.st = sEndTagOpen
				i++
			case c == '!':
				w.hb.release()
				w.st, w.mk = sMarkupDecl, 0
				i++
			case c == '?':
				w.hb.release()
				w.st = sBogusComment
			default:
				w.hb.release()
				w.st = sText
			}
		case sEndTagOpen:
			switch c := in[i]; {
			case isAlpha(c):
				w.isEnd = true
				w.nameLen = 0
				w.st = sTagName
			case c == '>':
				w.hb.release() // held inside a placeholder
				w.st = sText
				i++
			default:
				w.hb.release()
				w.st = sBogusComment
			}
		case sTagName:
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
				return
			}
			w.nameDone(i)
			switch in[i] {
			case '>':
				w.tagDone(i)
			case '/':
				w.st = sSelfClosing
			default:
				w.st = sBeforeAttrName
			}
			i++
		case sBeforeAttrName, sAttrName, sAfterAttrName, sBeforeAttrValue,
			sAttrValueDQ, sAttrValueSQ, sAttrValueUnq, sAfterAttrValueQ, sSelfClosing:
			i = w.tagAttrs(in, i)
		case sMarkupDecl:
			c := in[i]
			switch {
			case w.mk == 0 && c == '-':
				w.mkc, w.mk = '-', 1
				i++
			case w.mk == 0 && c == '[' && w.foreign > 0:
				// CDATA sections exist only in SVG and MathML; in HTML
				// "<![CDATA[" opens a bogus comment that ends at '>'.
				w.mkc, w.mk = '[', 1
				i++
			case w.mk > 0 && w.mkc == '-' && c == '-':
				w.st, w.cn = sComment, 0
				i++
			case w.mk > 0 && w.mkc == '[' && c == "[CDATA["[w.mk]:
				w.mk++
				i++
				if w.mk == len("[CDATA[") {
					w.st, w.cn = sCDATA, 0
				}
			default:
				w.st = sBogusComment
			}
		case sComment, sCDATA:
			j := bytes.IndexByte(in[i:], '>')
			if j < 0 {
				w.content(in[i:])
				return
			}
			w.content(in[i : i+j])
			if w.closes() {
				w.st = sText
			} else {
				w.content(in[i+j : i+j+1])
			}
			i += j + 1
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

// content records the last bytes of a comment or CDATA section.
func (w *Writer) content(b []byte) {
	for _, c := range b[max(0, len(b)-3):] {
		w.last[0], w.last[1], w.last[2] = w.last[1], w.last[2], c
	}
	w.cn = min(w.cn+len(b), 3)
}

// closes reports whether a '>' now ends the comment or CDATA section: "-->"
// or "--!>", where "<!-->" and "<!--->" count (HTML tokenizer, comment start
// and comment end states), or "]]>".
func (w *Writer) closes() bool {
	n, l := w.cn, w.last
	if w.st == sCDATA {
		return n >= 2 && l[1] == ']' && l[2] == ']'
	}
	return n == 0 || n == 1 && l[2] == '-' ||
		n >= 2 && l[1] == '-' && l[2] == '-' ||
		n >= 3 && l[0] == '-' && l[1] == '-' && l[2] == '!'
}

// raw scans raw text from in[i] and returns where it stopped: the end of
// the input, or past the delimiter of the element's end tag, in a tag state.
func (w *Writer) raw(in []byte, i int) int {
	script := w.rawEl == elScript
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
			case c == '!' && script:
				w.ss = rEscStart
				i++
			default:
				w.ss = rData
				if w.css.on {
					w.css.replay(false, nil, 0)
				}
			}
		case rEndName:
			if isAlpha(c) || c == '-' && w.rawEl == elAmpAnalytics {
				if w.tbn < len(w.tb) {
					w.tb[w.tbn] = lower(c)
				}
				w.tbn++
				i++
				continue
			}
			if (c == '>' || c == '/' || isSpace(c)) && w.tbn == len(elemNames[w.rawEl]) && string(w.tb[:w.tbn]) == elemNames[w.rawEl] {
				// The end tag; its attributes are tokenized (and ignored)
				// like a start tag's.
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
			w.ss = w.ret
			if w.css.on {
				w.css.replay(true, w.tb[:], w.tbn)
			}
		case rEscStart:
			if c == '-' {
				w.ss = rEscStartDash
				i++
			} else {
				w.ss = rData
			}
		case rEscStartDash:
			if c == '-' {
				w.ss = rEscDashDash
				i++
			} else {
				w.ss = rData
			}
		case rEsc, rEscDash, rEscDashDash:
			switch {
			case c == '-':
				if w.ss == rEsc {
					w.ss = rEscDash
				} else {
					w.ss = rEscDashDash
				}
			case c == '<':
				w.lt(i)
				w.ss = rEscLt
			case c == '>' && w.ss == rEscDashDash:
				w.ss = rData
			default:
				w.ss = rEsc
			}
			i++
		case rEscLt:
			switch {
			case c == '/':
				w.ss, w.tbn, w.ret = rEndName, 0, rEsc
				i++
			case isAlpha(c):
				w.ss, w.tbn = rDblStart, 0
			default:
				w.ss = rEsc
			}
		case rDblStart, rDblEnd:
			if isAlpha(c) {
				if w.tbn < len(w.tb) {
					w.tb[w.tbn] = lower(c)
				}
				w.tbn++
				i++
				continue
			}
			isScript := w.tbn == 6 && string(w.tb[:6]) == "script"
			switch {
			case c == '>' || c == '/' || isSpace(c):
				i++
				if w.ss == rDblStart && isScript {
					w.ss = rDbl
				} else if w.ss == rDblEnd && isScript {
					w.ss = rEsc
				} else if w.ss == rDblStart {
					w.ss = rEsc
				} else {
					w.ss = rDbl
				}
			case w.ss == rDblStart:
				w.ss = rEsc
			default:
				w.ss = rDbl
			}
		case rDbl, rDblDash, rDblDashDash:
			switch {
			case c == '-':
				if w.ss == rDbl {
					w.ss = rDblDash
				} else {
					w.ss = rDblDashDash
				}
			case c == '<':
				w.ss = rDblLt
			case c == '>' && w.ss == rDblDashDash:
				w.ss = rData
			default:
				w.ss = rDbl
			}
			i++
		case rDblLt:
			if c == '/' {
				w.ss, w.tbn = rDblEnd, 0
				i++
			} else {
				w.ss = rDbl
			}
		}
	}
	return i
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
		case sBeforeAttrName:
			for class[in[i]]&cSpace != 0 {
				if i++; i == len(in) {
					w.st = st
					return i
				}
			}
			switch c := in[i]; c {
			case '/':
				st = sSelfClosing
				i++
				continue
			case '>':
				return w.closeTag(i)
			default:
				if rec {
					w.attrBegin(i)
				}
				ns = i
				st = sAttrName
				if c == '=' { // starts the name here
					i++
				}
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
			for class[in[i]]&cSpace != 0 {
				if i++; i == len(in) {
					w.st = sBeforeAttrValue
					return i
				}
			}
			switch c := in[i]; c {
			case '"', '\'':
				if rec {
					w.valBegin(i + 1)
				} else if w.spend {
					w.styleBegin(i+1, false)
				}
				i++
				j := quote(in[i:], c)
				if j < 0 {
					w.st = sAttrValueDQ
					if c == '\'' {
						w.st = sAttrValueSQ
					}
					return len(in)
				}
				i += j
				if rec {
					w.valDone(i, i+1)
				} else if w.sval {
					w.styleDone(i)
				}
				i++
				st = sAfterAttrValueQ
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
		case sAfterAttrName:
			for class[in[i]]&cSpace != 0 {
				if i++; i == len(in) {
					w.st = st
					return i
				}
			}
			switch in[i] {
			case '/':
				st = sSelfClosing
				i++
			case '=':
				st = sBeforeAttrValue
				i++
			case '>':
				return w.closeTag(i)
			default:
				if rec {
					w.attrBegin(i)
				}
				ns = i
				st = sAttrName
			}
		case sAttrValueDQ, sAttrValueSQ:
			q := byte('"')
			if st == sAttrValueSQ {
				q = '\''
			}
			j := bytes.IndexByte(in[i:], q)
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
func nameEnd(in []byte, i int) int {
	for ; i+8 <= len(in); i += 8 {
		x := binary.LittleEndian.Uint64(in[i:])
		// Bytes below 0x21 cover the white space.
		if m := (x-0x21*ones)&^x&high | zeros(x^'/'*ones) | zeros(x^'>'*ones); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			break
		}
	}
	for i < len(in) && class[in[i]]&cNameEnd == 0 {
		i++
	}
	return i
}

// attrNameEnd returns the index of the first byte at or after i that ends
// an attribute name (space, '/', '>', '='), or len(in).
func attrNameEnd(in []byte, i int) int {
	for ; i+8 <= len(in); i += 8 {
		x := binary.LittleEndian.Uint64(in[i:])
		if m := (x-0x21*ones)&^x&high | zeros(x^'/'*ones) | zeros(x^'>'*ones) | zeros(x^'='*ones); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			break
		}
	}
	for i < len(in) && class[in[i]]&cAttrEnd == 0 {
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
