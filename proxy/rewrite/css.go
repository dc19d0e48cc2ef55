package rewrite

import (
	"bytes"
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

// cssScanner finds and deletes the denied URLs of a style element's
// content as it streams, its state carried across Writes. It follows CSS
// Syntax as far as it decides what loads: comments, strings, escapes,
// url( and the functions image-set( and -webkit-image-set(, and @import.
// A URL token is held (in hb) from its first deletable byte to its end,
// within MaxCSSToken, then classified (cl); a denied one is deleted (the
// argument of url(, the contents of a string, a whole @import rule
// through its ';') and recorded (rep).
//
// The tokenizer hands it the content between '<'s (scan), and tells it
// where a '<' may start the element's end tag (lt), what such a candidate
// turned out to be when it was not the end tag (replay), where the end
// tag is (end) and where a Write ends (bound).
type cssScanner struct {
	hb  *holdBuf
	cl  *classifier
	rep *report
	url []byte // the URL of a token, escapes decoded (cssURL)

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
	drop    bool // deleting the rest of a token (c.hb.drop is set)
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

// start starts scanning the content of a style element, unless the
// element is being dropped.
func (c *cssScanner) start() {
	c.reset(!c.hb.drop)
}

// reset clears the state, on or off, and keeps the scanner's buffer and
// what it works with.
func (c *cssScanner) reset(on bool) {
	*c = cssScanner{hb: c.hb, cl: c.cl, rep: c.rep, url: c.url[:0], on: on}
}

// addTail appends a run of plain bytes to the tail.
func (c *cssScanner) addTail(b []byte) {
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
func (c *cssScanner) ident(seg []byte, buf *[24]byte) []byte {
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

// scan scans style content in[i:end], which holds no '<'.
func (c *cssScanner) scan(in []byte, i, end int) {
	for i < end {
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
			c.special(in[i:k], in[k], k)
			c.tn = 0
			i = k + 1
		case cSlash, cComment, cCommentStar:
			i = c.comment(in, i, end)
		case cEsc:
			c.st = c.ret
			i++
		case cAt:
			i = c.atKeyword(in, i, end)
		case cURLPre:
			i = c.urlStart(in, i)
		default:
			i = c.inToken(in, i, end)
		}
	}
}

// special reads b, a byte that the scanner looks at between tokens, at
// in[k]; run is the plain bytes before it.
func (c *cssScanner) special(run []byte, b byte, k int) {
	switch b {
	case '(':
		c.open(run, k)
	case ')':
		if c.depth > 0 {
			c.depth--
		}
		if c.isd > c.depth {
			c.isd = 0
		}
	case '"', '\'':
		c.quote(b, k)
	case '@':
		if !c.drop && !c.imp {
			c.hb.startHold(k)
			c.hold, c.an, c.st = true, 0, cAt
		}
	case ';', '{', '}':
		c.ruleEnd(b, k)
	case '/':
		c.st = cSlash
	case '\\':
		c.ret, c.st = cN, cEsc
	}
}

// open reads the '(' at in[k] after run: url( starts a URL token (held
// from its first byte), image-set( makes its strings URLs.
func (c *cssScanner) open(run []byte, k int) {
	var buf [24]byte
	id := c.ident(run, &buf)
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
			c.us = c.hb.off(k + 1)
		} else {
			c.hb.startHold(k + 1)
			c.hold, c.us = true, 0
		}
	case string(id) == "image-set" || string(id) == "-webkit-image-set":
		c.isd = c.depth
	}
}

// quote reads the quote q at in[k] that opens a string: a URL in an
// @import rule or an image-set(, else a string that loads nothing.
func (c *cssScanner) quote(q byte, k int) {
	c.q, c.st = q, cStr
	switch {
	case c.drop:
	case c.imp:
		c.imp, c.inImp = false, true
		c.tok, c.ustr, c.st = true, true, cURLString
		c.us = c.hb.off(k + 1)
	case c.isd > 0 && c.depth == c.isd:
		c.tok, c.ustr, c.st = true, true, cURLString
		c.hb.startHold(k + 1)
		c.hold, c.us = true, 0
	}
}

// ruleEnd reads the ';', '{' or '}' b at in[k], which ends an @import
// rule.
func (c *cssScanner) ruleEnd(b byte, k int) {
	e := k + btoi(b == ';')
	if c.imp {
		// An @import rule without a URL loads nothing; past
		// MaxCSSToken it is deleted, as bound would have.
		c.imp, c.hold = false, false
		if c.hb.off(k) > MaxCSSToken {
			c.rep.stats.Oversize++
			c.cut(c.hb.region(e), c.hb.off(e), e)
		} else {
			c.hb.release()
		}
	}
	if c.impRest {
		c.hb.emitTo(e)
		c.hb.drop, c.drop, c.impRest = false, false, false
	}
}

// comment reads in[i:end] after a '/', in a comment or after a '*' in
// one, and returns where it stopped.
func (c *cssScanner) comment(in []byte, i, end int) int {
	switch c.st {
	case cSlash:
		c.st = cN
		if in[i] == '*' {
			c.st = cComment
			i++
		}
	case cComment:
		if k := bytes.IndexByte(in[i:end], '*'); k >= 0 {
			c.st = cCommentStar
			return i + k + 1
		}
		return end
	case cCommentStar:
		switch in[i] {
		case '/':
			c.st = cN
		case '*':
		default:
			c.st = cComment
		}
		i++
	}
	return i
}

// atKeyword reads the name of an at-keyword from in[i] and returns where
// it stopped; only @import is held further.
func (c *cssScanner) atKeyword(in []byte, i, end int) int {
	for ; i < end && isIdent(in[i]); i++ {
		if c.an < len(c.at) {
			c.at[c.an] = lower(in[i])
		}
		c.an++
	}
	if i == end {
		return i
	}
	c.st = cN
	if c.an == 6 && string(c.at[:6]) == "import" {
		c.imp = true
	} else {
		c.hold = false
		c.hb.release()
	}
	return i
}

// urlStart reads the byte at in[i] after "url(" and white space.
func (c *cssScanner) urlStart(in []byte, i int) int {
	switch b := in[i]; {
	case isCSSSpace(b):
	case b == '"' || b == '\'':
		c.q, c.st = b, cURLStr
	case b == ')':
		c.tokEnd(i)
	default:
		c.st = cURLRaw
		return i
	}
	return i + 1
}

// inToken reads a string or a URL from in[i] up to its end, an escape
// or end, and returns where it stopped.
func (c *cssScanner) inToken(in []byte, i, end int) int {
	k := i
	switch c.st {
	case cStr, cURLStr, cURLString:
		for k < end && in[k] != c.q && in[k] != '\\' && in[k] != '\n' {
			k++
		}
	case cURLRaw:
		for k < end && in[k] != ')' && in[k] != '\\' {
			k++
		}
	case cURLPost:
		for k < end && in[k] != ')' {
			k++
		}
	}
	if k == end {
		return k
	}
	if in[k] == '\\' && c.st != cURLPost {
		c.ret, c.st = c.st, cEsc
		return k + 1
	}
	switch c.st {
	case cStr:
		c.st = cN
	case cURLStr:
		c.st = cURLPost
	case cURLString:
		c.tokEnd(k)
		if in[k] == '\n' {
			return k // the newline ends the string and is read again
		}
	default:
		c.tokEnd(k)
	}
	return k + 1
}

// lt notes a '<' at in[i] that may start the end tag: while a token is
// being dropped, the candidate is held, not dropped, until it is known.
func (c *cssScanner) lt(i int) {
	if c.drop {
		c.hb.emitTo(i)
		c.hb.startHold(i)
		c.ltHold = true
	}
}

// replay feeds the scanner the bytes of a candidate end tag that turned
// out to be content: '<', and with slash, '/' and name, the letters after
// it (n of them, of which name holds the first). None of them starts or
// ends a URL token, so where they are in the input does not matter.
func (c *cssScanner) replay(slash bool, name []byte, n int) {
	if c.ltHold {
		// Dropping: the held candidate is part of the dropped token.
		c.ltHold = false
		c.hb.release()
	}
	var b [24]byte
	k := copy(b[:], "</")
	if !slash {
		k = 1
	} else {
		k += copy(b[k:], name[:min(n, len(name), len(b)-3)])
		if n > len(name) {
			b[k] = 'x'
			k++
		}
	}
	c.scan(b[:k], 0, k)
}

// tokEnd ends the URL token at in[i], the byte after the URL (')', a
// closing quote or a newline).
func (c *cssScanner) tokEnd(i int) {
	c.st = cN
	c.tok = false
	switch {
	case c.hold:
		c.final(i, c.hb.off(i), false)
	case c.drop && c.inImp:
		c.impRest = true
	case c.drop:
		c.hb.emitTo(i)
		c.hb.drop, c.drop = false, false
	}
	c.inImp = false
}

// end ends the content of the style element at the end tag whose name
// ends at in[i] and whose '<' is at offset lt of the held region (or,
// with eof, at the end of the page).
func (c *cssScanner) end(i, lt int, eof bool) {
	end := lt
	if eof {
		end = len(c.hb.held)
	}
	switch {
	case c.hold && c.tok:
		c.final(i, end, true)
	case c.hold && c.imp && end > MaxCSSToken:
		// As cssBound would have: an @import rule past the bound goes.
		c.rep.stats.Oversize++
		c.cut(c.hb.region(i), end, i)
	case c.hold:
		c.hb.release()
	case c.drop:
		c.hb.flush()
		c.hb.drop = false
		if eof {
			c.hb.drop = true
		}
		c.hb.release()
		c.hb.drop = false
	}
	c.reset(false)
}

// final decides the held URL token that ends at offset end of the held
// region, which ends at in[j]; last: the content of the element ended.
func (c *cssScanner) final(j, end int, last bool) {
	all := c.hb.region(j)
	c.hold = false
	v, ok := c.verdict(all, end)
	if ok && v == nil {
		c.hb.release()
		return
	}
	if v != nil {
		c.rep.record(v, elStyle, rules.Remove)
	}
	switch {
	case last || !c.inImp:
		c.cut(all, end, j)
	default:
		// The rest of the @import rule goes too, through its ';'.
		c.cut(all, len(all), j)
		c.hb.drop = true
		c.drop, c.impRest = true, true
	}
}

// verdict classifies the URL of the held token all[:end]: the denied
// vendor, and whether it is known. A token longer than MaxCSSToken is
// decided on its first MaxCSSToken bytes (Stats.Oversize): known when the
// host of the URL ends there, else unknown (deleted: fail closed).
func (c *cssScanner) verdict(all []byte, end int) (*rules.Vendor, bool) {
	if end <= MaxCSSToken {
		if c.us > end {
			return nil, true
		}
		return c.cl.classify(c.cl.clean(c.cssURL(all[c.us:end]), false)), true
	}
	c.rep.stats.Oversize++
	if c.us >= MaxCSSToken {
		return nil, false
	}
	return c.cl.urlPrefix(c.cl.clean(c.cssURL(all[c.us:MaxCSSToken]), false))
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

// cut ends the held region at in[j] and emits it without all[:n].
func (c *cssScanner) cut(all []byte, n, j int) {
	c.hb.flush()
	c.hb.write(all[n:])
	c.hb.dropHeld(j)
	c.hb.changed = true
}

// bound applies MaxCSSToken at the end of a Write. cand says that the
// held region ends with a candidate end tag, from its '<' at offset lt;
// bound returns that offset, which changes when the bytes before it go.
func (c *cssScanner) bound(cand bool, lt int) int {
	if c.ltHold {
		if !cand {
			c.ltHold = false
			c.hb.release() // dropped
		}
		return lt
	}
	if !c.hold {
		return lt
	}
	n := len(c.hb.held)
	if cand {
		n = lt
	}
	if n <= MaxCSSToken {
		return lt
	}
	var v *rules.Vendor
	ok := false
	switch {
	case c.tok:
		v, ok = c.verdict(c.hb.held, n)
		if ok && v == nil {
			c.hold = false
			c.hb.release() // the rest of the token passes
			return lt
		}
	case !c.imp:
		c.hold = false
		c.hb.release() // a long at-keyword: not @import
		return lt
	default:
		c.rep.stats.Oversize++
	}
	if v != nil {
		c.rep.record(v, elStyle, rules.Remove)
	}
	c.hold, c.drop = false, true
	c.impRest = c.imp || c.inImp
	c.imp = false
	c.hb.changed = true
	c.hb.flush()
	c.hb.drop = true
	if cand {
		c.hb.keepFrom(lt)
		c.ltHold = true
		return 0
	}
	c.hb.dropHeld(len(c.hb.in))
	return lt
}

// cssURL returns the URL of the held token's bytes b, in c.url.
func (c *cssScanner) cssURL(b []byte) []byte {
	c.url = appendCSSURL(c.url[:0], b, c.ustr)
	return c.url
}

// appendCSSURL appends to d the URL of a token's bytes with CSS escapes
// decoded: the argument of url( (white space and quotes around it
// dropped), or with str the contents of a string.
func appendCSSURL(d, b []byte, str bool) []byte {
	start := len(d)
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
		var n int
		d, n = appendCSSEscape(d, b[i+1:])
		i += 1 + n
	}
	if !str {
		return append(d[:start], trimCSSSpace(d[start:])...)
	}
	return d
}

// appendCSSEscape appends to d what the escape whose '\\' comes before b
// stands for (CSS Syntax, "consume an escaped code point"), and returns
// how many bytes of b it took: up to six hex digits and one white space
// after them, a line continuation (nothing), or one byte as itself.
func appendCSSEscape(d, b []byte) ([]byte, int) {
	if len(b) == 0 {
		return d, 0
	}
	if _, ok := hexVal(b[0]); !ok {
		if b[0] == '\n' || b[0] == '\r' || b[0] == '\f' {
			return d, 1 // a line continuation in a string
		}
		return append(d, b[0]), 1
	}
	cp, i := 0, 0
	for ; i < 6 && i < len(b); i++ {
		h, ok := hexVal(b[i])
		if !ok {
			break
		}
		cp = cp<<4 | int(h)
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
	return utf8.AppendRune(d, rune(cp)), i
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
