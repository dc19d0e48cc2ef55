package rewrite

import "bytes"

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

// scan tokenizes w.in from its start, in state w.st, emitting and holding
// as it goes. It returns at the end of the input or on a write error.
func (w *Writer) scan() {
	in := w.in
	i := 0
	for i < len(in) && w.err == nil {
		switch w.st {
		case sText:
			j := bytes.IndexByte(in[i:], '<')
			if j < 0 {
				return
			}
			i += j
			w.startHold(i) // a start tag is held until its name is known
			w.st = sTagOpen
			i++
		case sTagOpen:
			switch c := in[i]; {
			case isAlpha(c):
				w.isEnd = false
				w.nameLen = 0
				w.st = sTagName
			case c == '/':
				w.release()
				w.st = sEndTagOpen
				i++
			case c == '!':
				w.release()
				w.st, w.mk = sMarkupDecl, 0
				i++
			case c == '?':
				w.release()
				w.st = sBogusComment
			default:
				w.release()
				w.st = sText
			}
		case sEndTagOpen:
			switch c := in[i]; {
			case isAlpha(c):
				w.isEnd = true
				w.nameLen = 0
				w.st = sTagName
			case c == '>':
				w.st = sText
				i++
			default:
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
		case sBeforeAttrName:
			for i < len(in) && isSpace(in[i]) {
				i++
			}
			if i == len(in) {
				return
			}
			switch c := in[i]; c {
			case '/':
				w.st = sSelfClosing
				i++
			case '>':
				w.tagDone(i)
				i++
			default:
				w.attrBegin(i)
				w.st = sAttrName
				if c == '=' { // starts the name here
					i++
				}
			}
		case sAttrName:
			for ; i < len(in); i++ {
				c := in[i]
				if c == '=' || c == '>' || c == '/' || isSpace(c) {
					break
				}
			}
			if i == len(in) {
				return
			}
			w.attrNameDone(i)
			switch in[i] {
			case '=':
				w.st = sBeforeAttrValue
			case '>':
				w.tagDone(i)
			case '/':
				w.st = sSelfClosing
			default:
				w.st = sAfterAttrName
			}
			i++
		case sAfterAttrName:
			for i < len(in) && isSpace(in[i]) {
				i++
			}
			if i == len(in) {
				return
			}
			switch in[i] {
			case '/':
				w.st = sSelfClosing
				i++
			case '=':
				w.st = sBeforeAttrValue
				i++
			case '>':
				w.tagDone(i)
				i++
			default:
				w.attrBegin(i)
				w.st = sAttrName
			}
		case sBeforeAttrValue:
			for i < len(in) && isSpace(in[i]) {
				i++
			}
			if i == len(in) {
				return
			}
			switch in[i] {
			case '"':
				w.valBegin(i + 1)
				w.st = sAttrValueDQ
				i++
			case '\'':
				w.valBegin(i + 1)
				w.st = sAttrValueSQ
				i++
			case '>':
				w.tagDone(i)
				i++
			default:
				w.valBegin(i)
				w.st = sAttrValueUnq
			}
		case sAttrValueDQ, sAttrValueSQ:
			q := byte('"')
			if w.st == sAttrValueSQ {
				q = '\''
			}
			j := bytes.IndexByte(in[i:], q)
			if j < 0 {
				return
			}
			i += j
			w.valDone(i, i+1)
			w.st = sAfterAttrValueQ
			i++
		case sAttrValueUnq:
			for ; i < len(in); i++ {
				if c := in[i]; c == '>' || isSpace(c) {
					break
				}
			}
			if i == len(in) {
				return
			}
			w.valDone(i, i)
			if in[i] == '>' {
				w.tagDone(i)
			} else {
				w.st = sBeforeAttrName
			}
			i++
		case sAfterAttrValueQ:
			switch c := in[i]; {
			case c == '/':
				w.st = sSelfClosing
				i++
			case c == '>':
				w.tagDone(i)
				i++
			case isSpace(c):
				w.st = sBeforeAttrName
				i++
			default:
				w.st = sBeforeAttrName
			}
		case sSelfClosing:
			if in[i] == '>' {
				w.selfClosing = true
				w.tagDone(i)
				i++
			} else {
				w.st = sBeforeAttrName
			}
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
			if j < 0 {
				return len(in)
			}
			i += j
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
			}
		case rEndName:
			if isAlpha(c) {
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
	if w.hold {
		w.ltOff = w.off(i)
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
	return len(w.held)
}
