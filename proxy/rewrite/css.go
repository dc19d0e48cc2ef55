package rewrite

import (
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
)

// MaxCSSToken bounds a URL token of a style element held while it is
// classified: from the first byte of a url(...) argument, of an image-set
// string or of an @import rule, to the end of the URL.
const MaxCSSToken = 4 << 10

// cstate is the state of the CSS scanner of a style element.
type cstate uint8

const (
	cN           cstate = iota // between tokens
	cSlash                     // after '/': a comment may start
	cComment                   // in /* */
	cCommentStar               // in a comment, after '*'
	cStr                       // in a string that loads nothing
	cEsc                       // after '\': the next byte is escaped; then ret
	cAt                        // in an at-keyword, held from its '@'
	cURLPre                    // after "url(", before the URL
	cURLRaw                    // in an unquoted URL
	cURLStr                    // in a quoted URL of url(
	cURLPost                   // after the URL of url(, before ')'
	cURLString                 // in a string that is a URL: image-set, @import
)

// cssState is the CSS scanner's state, carried across Writes. The scanner
// follows CSS Syntax as far as it decides what loads: comments, strings,
// escapes, url( and the functions image-set( and -webkit-image-set(, and
// @import. A URL token is held (Writer.hold) from its first deletable byte
// to its end, within MaxCSSToken, then classified; a denied one is deleted
// (the argument of url(, the contents of a string, a whole @import rule
// through its ';').
type cssState struct {
	on      bool // scanning the content of a style element
	st, ret cstate
	q       byte // quote of the current string
	depth   int  // parenthesis depth
	isd     int  // depth of the innermost open image-set(, 0 when none
	tail    [24]byte
	tn      int     // bytes in tail: the end of the current run of plain bytes
	at      [8]byte // the at-keyword, lower case
	an      int
	hold    bool // the held region is the scanner's (from '@' or a URL)
	imp     bool // in an @import rule, held from its '@', before its URL
	tok     bool // in a URL token (held, passing or dropping)
	inImp   bool // the URL token is the URL of an @import rule
	ustr    bool // the URL token is the contents of a string
	us      int  // offset of the URL in the held region
	drop    bool // deleting the rest of a token (w.hb.drop is set)
	impRest bool // deleting the rest of an @import rule, through ';'
	ltHold  bool // while dropping: a candidate end tag held from its '<'
}

// Bytes the scanner looks at between tokens; the others are skipped.
var cssSpecial = func() (t [256]bool) {
	for _, c := range []byte("/\"'\\()@;{}") {
		t[c] = true
	}
	return t
}()

func isCSSSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isIdent(c byte) bool {
	return isAlpha(c) || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80
}

// cssStart starts scanning the content of a style element.
func (w *Writer) cssStart() {
	w.css = cssState{on: !w.hb.drop}
}

// addTail appends a run of plain bytes to the tail.
func (c *cssState) addTail(b []byte) {
	if len(b) >= len(c.tail) {
		c.tn = copy(c.tail[:], b[len(b)-len(c.tail):])
		return
	}
	if c.tn+len(b) > len(c.tail) {
		d := c.tn + len(b) - len(c.tail)
		copy(c.tail[:], c.tail[d:c.tn])
		c.tn -= d
	}
	c.tn += copy(c.tail[c.tn:], b)
}

// ident returns, lower case, the identifier that ends the plain run tail
// + seg (nil when longer than 20 bytes).
func (c *cssState) ident(seg []byte, buf *[24]byte) []byte {
	n := 0
	k := len(buf)
	for j := len(seg) - 1; j >= 0 && isIdent(seg[j]); j-- {
		if n++; n > 20 {
			return nil
		}
		k--
		buf[k] = lower(seg[j])
	}
	if n == len(seg) {
		for j := c.tn - 1; j >= 0 && isIdent(c.tail[j]); j-- {
			if n++; n > 20 {
				return nil
			}
			k--
			buf[k] = lower(c.tail[j])
		}
	}
	return buf[k:]
}

// cssScan scans style content in[i:end], which holds no '<'.
func (w *Writer) cssScan(in []byte, i, end int) {
	c := &w.css
	for i < end {
		b := in[i]
		switch c.st {
		case cN:
			k := i
			for k < end && !cssSpecial[in[k]] {
				k++
			}
			if k == end {
				c.addTail(in[i:end])
				return
			}
			b = in[k]
			switch b {
			case '(':
				var buf [24]byte
				id := c.ident(in[i:k], &buf)
				c.depth++
				switch {
				case string(id) == "url":
					c.depth--
					c.tok, c.ustr, c.st = true, false, cURLPre
					if c.drop {
						// In the rest of a deleted @import rule: read, not held.
						c.inImp = true
					} else if c.imp {
						c.imp, c.inImp = false, true
						c.us = w.hb.off(k + 1)
					} else {
						w.hb.startHold(k + 1)
						c.hold, c.us = true, 0
					}
				case string(id) == "image-set" || string(id) == "-webkit-image-set":
					c.isd = c.depth
				}
			case ')':
				if c.depth > 0 {
					c.depth--
				}
				if c.isd > c.depth {
					c.isd = 0
				}
			case '"', '\'':
				c.q, c.st = b, cStr
				switch {
				case c.drop:
				case c.imp:
					c.imp, c.inImp = false, true
					c.tok, c.ustr, c.st = true, true, cURLString
					c.us = w.hb.off(k + 1)
				case c.isd > 0 && c.depth == c.isd:
					c.tok, c.ustr, c.st = true, true, cURLString
					w.hb.startHold(k + 1)
					c.hold, c.us = true, 0
				}
			case '@':
				if !c.drop && !c.imp {
					w.hb.startHold(k)
					c.hold, c.an, c.st = true, 0, cAt
				}
			case ';', '{', '}':
				if c.imp {
					// An @import rule without a URL loads nothing; past
					// MaxCSSToken it is deleted, as cssBound would have.
					c.imp, c.hold = false, false
					if e := k + btoi(b == ';'); w.hb.off(k) > MaxCSSToken {
						w.rep.stats.Oversize++
						w.cssCut(w.hb.region(e), w.hb.off(e), e)
					} else {
						w.hb.release()
					}
				}
				if c.impRest {
					e := k
					if b == ';' {
						e = k + 1
					}
					w.hb.emitTo(e)
					w.hb.drop, c.drop, c.impRest = false, false, false
				}
			case '/':
				c.st = cSlash
			case '\\':
				c.ret, c.st = cN, cEsc
			}
			c.tn = 0
			i = k + 1
		case cSlash:
			c.st = cN
			if b == '*' {
				c.st = cComment
				i++
			}
		case cComment:
			for i < end && in[i] != '*' {
				i++
			}
			if i < end {
				c.st = cCommentStar
				i++
			}
		case cCommentStar:
			switch b {
			case '/':
				c.st = cN
			case '*':
			default:
				c.st = cComment
			}
			i++
		case cStr:
			for i < end && in[i] != c.q && in[i] != '\\' && in[i] != '\n' {
				i++
			}
			if i < end {
				if in[i] == '\\' {
					c.ret, c.st = cStr, cEsc
				} else {
					c.st = cN
				}
				i++
			}
		case cEsc:
			c.st = c.ret
			i++
		case cAt:
			if isIdent(b) {
				if c.an < len(c.at) {
					c.at[c.an] = lower(b)
				}
				c.an++
				i++
				continue
			}
			c.st = cN
			if c.an == 6 && string(c.at[:6]) == "import" {
				c.imp = true
			} else {
				c.hold = false
				w.hb.release()
			}
		case cURLPre:
			switch {
			case isCSSSpace(b):
			case b == '"' || b == '\'':
				c.q, c.st = b, cURLStr
			case b == ')':
				w.cssTokEnd(i)
			default:
				c.st = cURLRaw
				continue
			}
			i++
		case cURLRaw:
			for i < end && in[i] != ')' && in[i] != '\\' {
				i++
			}
			if i < end {
				if in[i] == '\\' {
					c.ret, c.st = cURLRaw, cEsc
				} else {
					w.cssTokEnd(i)
				}
				i++
			}
		case cURLStr:
			for i < end && in[i] != c.q && in[i] != '\\' && in[i] != '\n' {
				i++
			}
			if i < end {
				if in[i] == '\\' {
					c.ret, c.st = cURLStr, cEsc
				} else {
					c.st = cURLPost
				}
				i++
			}
		case cURLPost:
			for i < end && in[i] != ')' {
				i++
			}
			if i < end {
				w.cssTokEnd(i)
				i++
			}
		case cURLString:
			for i < end && in[i] != c.q && in[i] != '\\' && in[i] != '\n' {
				i++
			}
			if i < end {
				if in[i] == '\\' {
					c.ret, c.st = cURLString, cEsc
					i++
				} else {
					w.cssTokEnd(i)
					if in[i] != '\n' {
						i++
					}
				}
			}
		}
	}
}

// cssReplay feeds the scanner the bytes of a candidate end tag that turned
// out to be content: '<', and with slash, '/' and the letters after it.
// None of them starts or ends a URL token, so where they are in the input
// does not matter.
func (w *Writer) cssReplay(slash bool) {
	c := &w.css
	if c.ltHold {
		// Dropping: the held candidate is part of the dropped token.
		c.ltHold = false
		w.hb.release()
	}
	var b [len(w.tb) + 3]byte
	n := copy(b[:], "</")
	if !slash {
		n = 1
	} else {
		n += copy(b[n:], w.tb[:min(w.tbn, len(w.tb))])
		if w.tbn > len(w.tb) {
			b[n] = 'x'
			n++
		}
	}
	w.cssScan(b[:n], 0, n)
}

// cssTokEnd ends the URL token at in[i], the byte after the URL (')', a
// closing quote or a newline).
func (w *Writer) cssTokEnd(i int) {
	c := &w.css
	c.st = cN
	c.tok = false
	switch {
	case c.hold:
		w.cssFinal(i, w.hb.off(i), false)
	case c.drop && c.inImp:
		c.impRest = true
	case c.drop:
		w.hb.emitTo(i)
		w.hb.drop, c.drop = false, false
	}
	c.inImp = false
}

// cssEnd ends the content of the style element at the end tag whose
// delimiter is in[i] (or, with eof, at the end of the page).
func (w *Writer) cssEnd(i int, eof bool) {
	c := &w.css
	end := w.ltOff
	if eof {
		end = len(w.hb.held)
	}
	switch {
	case c.hold && c.tok:
		w.cssFinal(i, end, true)
	case c.hold && c.imp && end > MaxCSSToken:
		// As cssBound would have: an @import rule past the bound goes.
		w.rep.stats.Oversize++
		w.cssCut(w.hb.region(i), end, i)
	case c.hold:
		w.hb.release()
	case c.drop:
		w.hb.flush()
		w.hb.drop = false
		if eof {
			w.hb.drop = true
		}
		w.hb.release()
		w.hb.drop = false
	}
	w.css = cssState{}
}

// cssFinal decides the held URL token that ends at offset end of the held
// region, which ends at in[j]; final: the content of the element ended.
func (w *Writer) cssFinal(j, end int, final bool) {
	c := &w.css
	all := w.hb.region(j)
	c.hold = false
	v, ok := w.cssVerdict(all, end)
	if ok && v == nil {
		w.hb.release()
		return
	}
	if v != nil {
		w.rep.record(v, elStyle, rules.Remove)
	}
	switch {
	case final || !c.inImp:
		w.cssCut(all, end, j)
	default:
		// The rest of the @import rule goes too, through its ';'.
		w.cssCut(all, len(all), j)
		w.hb.drop, w.skipEl = true, elOther
		c.drop, c.impRest = true, true
	}
}

// cssVerdict classifies the URL of the held token all[:end]: the denied
// vendor, and whether it is known. A token longer than MaxCSSToken is
// decided on its first MaxCSSToken bytes (Stats.Oversize): known when the
// host of the URL ends there, else unknown (deleted: fail closed).
func (w *Writer) cssVerdict(all []byte, end int) (*rules.Vendor, bool) {
	c := &w.css
	if end <= MaxCSSToken {
		if c.us > end {
			return nil, true
		}
		return w.cl.classify(w.cl.clean(w.cssURL(all[c.us:end], c.ustr), false)), true
	}
	w.rep.stats.Oversize++
	if c.us >= MaxCSSToken {
		return nil, false
	}
	return w.cl.urlPrefix(w.cl.clean(w.cssURL(all[c.us:MaxCSSToken], c.ustr), false))
}

func trimCSSSpace(b []byte) []byte {
	for len(b) > 0 && (isCSSSpace(b[0]) || b[0] < 0x20) {
		b = b[1:]
	}
	for len(b) > 0 && (isCSSSpace(b[len(b)-1]) || b[len(b)-1] < 0x20) {
		b = b[:len(b)-1]
	}
	return b
}

// cssCut ends the held region at in[j] and emits it without all[:n].
func (w *Writer) cssCut(all []byte, n, j int) {
	w.hb.flush()
	w.hb.write(all[n:])
	w.hb.dropHeld(j)
	w.hb.changed = true
}

// cssBound applies MaxCSSToken at the end of a Write.
func (w *Writer) cssBound() {
	c := &w.css
	cand := w.st == sRaw && (w.ss == rLt || w.ss == rEndName && w.tbn <= len("style"))
	if c.ltHold {
		if !cand {
			c.ltHold = false
			w.hb.release() // dropped
		}
		return
	}
	if !c.hold {
		return
	}
	n := len(w.hb.held)
	if cand {
		n = w.ltOff
	}
	if n <= MaxCSSToken {
		return
	}
	var v *rules.Vendor
	ok := false
	switch {
	case c.tok:
		v, ok = w.cssVerdict(w.hb.held, n)
		if ok && v == nil {
			c.hold = false
			w.hb.release() // the rest of the token passes
			return
		}
	case !c.imp:
		c.hold = false
		w.hb.release() // a long at-keyword: not @import
		return
	default:
		w.rep.stats.Oversize++
	}
	if v != nil {
		w.rep.record(v, elStyle, rules.Remove)
	}
	c.hold, c.drop = false, true
	c.impRest = c.imp || c.inImp
	c.imp = false
	w.hb.changed = true
	w.hb.flush()
	if cand {
		w.hb.keepFrom(w.ltOff)
		w.ltOff = 0
		c.ltHold = true
	} else {
		w.hb.dropHeld(len(w.hb.in))
	}
	w.hb.drop, w.skipEl = true, elOther
}

// cssURL returns the URL of a token's bytes with CSS escapes decoded: the
// argument of url( (white space and quotes around it dropped), or with
// str the contents of a string. It uses w.out.
func (w *Writer) cssURL(b []byte, str bool) []byte {
	d := w.out[:0]
	var q byte
	if !str {
		b = trimCSSSpace(b)
		if len(b) > 0 && (b[0] == '"' || b[0] == '\'') {
			q, b, str = b[0], b[1:], true
		}
	}
	for i := 0; i < len(b); {
		ch := b[i]
		if q != 0 && ch == q {
			break
		}
		if ch != '\\' {
			d = append(d, ch)
			i++
			continue
		}
		i++
		if i == len(b) {
			break
		}
		if _, ok := hexVal(b[i]); ok {
			cp, n := 0, 0
			for ; n < 6 && i < len(b); n++ {
				h, ok := hexVal(b[i])
				if !ok {
					break
				}
				cp = cp<<4 | int(h)
				i++
			}
			if i < len(b) && isCSSSpace(b[i]) {
				if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
					i++
				}
				i++
			}
			if cp == 0 || cp > utf8.MaxRune || 0xD800 <= cp && cp <= 0xDFFF {
				cp = utf8.RuneError
			}
			d = utf8.AppendRune(d, rune(cp))
			continue
		}
		if b[i] == '\n' || b[i] == '\r' || b[i] == '\f' {
			i++ // a line continuation in a string
			continue
		}
		d = append(d, b[i])
		i++
	}
	if !str {
		d = trimCSSSpace(d)
	}
	w.out = d
	return d
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
