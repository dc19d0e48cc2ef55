package rewrite

import "bytes"

// This file is a JavaScript lexer small enough for the hot path: it splits
// the text of an inline script into the tokens the classifier (jsclass.go)
// reads, without allocating and without ever failing. It knows what decides
// where a string, a comment or a regular expression starts and ends
// (ECMA-262 §12, with the HTML-like comments of Annex B.1.1); it does not
// check that the script is valid.
//
// A '/' is a regular expression when the token before it cannot end an
// expression: the start of the script, a punctuator other than ')', ']',
// '}', "++" and "--", or a keyword such as return or typeof; after '}' it is
// a regular expression too, as a statement block ends there far more often
// than an object literal does before a division. A '/' that would start a
// regular expression whose line ends before its closing '/' is a division.
// The parse-time cases this gets wrong ("if (a) /re/.test(b)", "a++ /b/
// c", "x = {} / 2") are rare in real scripts; a wrong guess only makes a
// few tokens on one line wrong.

// jsKind is the kind of a script token.
type jsKind uint8

const (
	tkEOF     jsKind = iota
	tkIdent          // identifier or keyword
	tkNum            // numeric literal
	tkStr            // '…' or "…", quotes included
	tkTmpl           // a template part: from '`' or '}' through '`' or "${"
	tkRegex          // regular expression literal, flags included
	tkPunct          // punctuator
	tkComment        // //, /* */, <!-- or --> comment
)

// jsToken is one token: src[start:end].
type jsToken struct {
	kind       jsKind
	start, end int
	nl         bool // a line terminator comes between it and the token before
}

// jsMaxTmpl bounds the nesting of template substitutions the lexer tracks;
// deeper ones are read as if they were braces (a few tokens go wrong).
const jsMaxTmpl = 32

// jsLexer splits a script into tokens. The zero value with src set lexes
// src from its start.
type jsLexer struct {
	src  []byte
	pos  int
	prev jsToken // the last token that is not a comment
	nl   bool    // a line terminator since prev
	// braces counts open '{' and "${"; tmpl holds the brace counts at
	// which the open template substitutions end.
	braces int
	tmpl   [jsMaxTmpl]int32
	ntmpl  int
}

// Byte classes of the lexer.
const (
	jcSpace    = 1 << iota // white space other than line terminators
	jcLine                 // '\n', '\r'
	jcIdent                // may continue an identifier: letters, digits, '_', '$', '\\', >= 0x80
	jcDigit                // '0'-'9'
	jcStrStop              // ends the fast scan of a string: quotes, '\\', '\n', '\r'
	jcTmplStop             // ends the fast scan of a template: '`', '\\', '$'
)

var jclass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\v\f") {
		t[c] |= jcSpace
	}
	t['\n'] |= jcLine | jcStrStop
	t['\r'] |= jcLine | jcStrStop
	for c := 0; c < 256; c++ {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '\\' || c >= 0x80 {
			t[c] |= jcIdent
		}
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= jcDigit
	}
	t['\''] |= jcStrStop
	t['"'] |= jcStrStop
	t['\\'] |= jcStrStop | jcTmplStop
	t['`'] |= jcTmplStop
	t['$'] |= jcTmplStop
	return t
}()

// jsSpaceAt reports whether src[i:] starts with the UTF-8 of a white space
// or line terminator past ASCII that scripts use: U+00A0, U+FEFF, U+2028,
// U+2029.
func jsSpaceAt(src []byte, i int) bool {
	switch src[i] {
	case 0xC2:
		return i+1 < len(src) && src[i+1] == 0xA0
	case 0xEF:
		return i+2 < len(src) && src[i+1] == 0xBB && src[i+2] == 0xBF
	case 0xE2:
		return i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&0xFE == 0xA8
	}
	return false
}

// What a byte starts, for next.
const (
	jsPunctStart uint8 = iota
	jsSpaceStart
	jsLineStart
	jsIdentStart
	jsDigitStart
	jsQuoteStart
	jsTickStart
	jsSlashStart
	jsDotStart
	jsLtStart
	jsMinusStart
	jsCloseStart // '}'
	jsHighStart  // >= 0x80: an identifier, or white space past ASCII
)

var jstart = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case jclass[c]&jcSpace != 0:
			t[c] = jsSpaceStart
		case jclass[c]&jcLine != 0:
			t[c] = jsLineStart
		case c >= 0x80:
			t[c] = jsHighStart
		case jclass[c]&jcDigit != 0:
			t[c] = jsDigitStart
		case jclass[c]&jcIdent != 0:
			t[c] = jsIdentStart
		}
	}
	t['\''], t['"'], t['`'], t['/'], t['.'], t['<'], t['-'], t['}'] =
		jsQuoteStart, jsQuoteStart, jsTickStart, jsSlashStart, jsDotStart, jsLtStart, jsMinusStart, jsCloseStart
	return t
}()

// next returns the next token; at the end of src, one of kind tkEOF.
func (l *jsLexer) next() jsToken {
	src := l.src
	i := l.pos
	nl := l.nl
	var st uint8
	for ; i < len(src); i++ {
		st = jstart[src[i]]
		if st == jsSpaceStart {
			continue
		}
		if st == jsLineStart {
			nl = true
			continue
		}
		if st == jsHighStart && jsSpaceAt(src, i) {
			if src[i] == 0xE2 && src[i+2]&0xFE == 0xA8 {
				nl = true
			}
			i += 1 + int(src[i]>>5&1) // two bytes for U+00A0, three for the others
			continue
		}
		break
	}
	l.nl = nl
	if i >= len(src) {
		l.pos = i
		return jsToken{kind: tkEOF, start: i, end: i, nl: nl}
	}
	start := i
	var k jsKind
	switch st {
	case jsIdentStart, jsHighStart:
		k = tkIdent
		for i++; i < len(src) && jclass[src[i]]&jcIdent != 0; i++ {
			if src[i] >= 0x80 && jsSpaceAt(src, i) {
				break
			}
		}
	case jsPunctStart:
		k, i = tkPunct, l.punct(i)
	case jsDigitStart:
		k, i = tkNum, l.number(i)
	case jsQuoteStart:
		k, i = tkStr, l.str(i)
	case jsTickStart:
		k, i = tkTmpl, l.tmplPart(i+1)
	case jsDotStart:
		if i+1 < len(src) && jclass[src[i+1]]&jcDigit != 0 {
			k, i = tkNum, l.number(i)
		} else {
			k, i = tkPunct, l.punct(i)
		}
	case jsSlashStart:
		switch {
		case i+1 < len(src) && src[i+1] == '/':
			k, i = tkComment, lineEnd(src, i+2)
		case i+1 < len(src) && src[i+1] == '*':
			k = tkComment
			if j := bytes.Index(src[i+2:], []byte("*/")); j >= 0 {
				i += 2 + j + 2
				// A comment with a line terminator counts as one (§12.4).
				if bytes.IndexByte(src[start:i], '\n') >= 0 || bytes.IndexByte(src[start:i], '\r') >= 0 {
					l.nl = true
				}
			} else {
				i = len(src)
			}
		case l.regexOK():
			if j := regexEnd(src, i); j > 0 {
				k, i = tkRegex, j
			} else {
				k, i = tkPunct, l.punct(i)
			}
		default:
			k, i = tkPunct, l.punct(i)
		}
	case jsLtStart:
		if hasAt(src, i, "<!--") {
			k, i = tkComment, lineEnd(src, i+4)
		} else {
			k, i = tkPunct, l.punct(i)
		}
	case jsMinusStart:
		if hasAt(src, i, "-->") && (nl || l.prev.kind == tkEOF) {
			// Annex B.1.1: "-->" starts a comment where only white space
			// and comments precede it on its line.
			k, i = tkComment, lineEnd(src, i+3)
		} else {
			k, i = tkPunct, l.punct(i)
		}
	case jsCloseStart:
		if l.ntmpl > 0 && l.braces == int(l.tmpl[l.ntmpl-1]) {
			l.ntmpl--
			l.braces--
			k, i = tkTmpl, l.tmplPart(i+1)
		} else {
			k, i = tkPunct, l.punct(i)
		}
	}
	l.pos = i
	t := jsToken{kind: k, start: start, end: i, nl: l.nl}
	if k != tkComment {
		l.prev = t
		l.nl = false
	}
	return t
}

// regexOK reports whether a '/' here starts a regular expression, from the
// token before it (see the file comment).
func (l *jsLexer) regexOK() bool {
	p := l.prev
	switch p.kind {
	case tkEOF:
		return true
	case tkNum, tkStr, tkRegex:
		return false
	case tkTmpl:
		return l.src[p.end-1] == '{' // "${" opens an expression
	case tkIdent:
		return regexKeyword(l.src[p.start:p.end])
	}
	switch l.src[p.end-1] {
	case ')', ']':
		return false
	case '+', '-':
		return p.end-p.start == 1 // binary '+' or '-'; "++" and "--" read as postfix
	}
	return true
}

// regexKeyword reports whether a '/' after the keyword w starts a regular
// expression.
func regexKeyword(w []byte) bool {
	switch string(w) {
	case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await":
		return true
	}
	return false
}

// regexEnd returns the end of the regular expression literal that starts
// at the '/' at src[i], flags included, or 0 when a line terminator (or
// the end) comes first.
func regexEnd(src []byte, i int) int {
	class := false
	for i++; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
			if i < len(src) && (src[i] == '\n' || src[i] == '\r') {
				return 0
			}
		case '[':
			class = true
		case ']':
			class = false
		case '\n', '\r':
			return 0
		case '/':
			if !class {
				for i++; i < len(src) && jclass[src[i]]&jcIdent != 0; i++ {
				}
				return i
			}
		}
	}
	return 0
}

// str returns the end of the string literal whose quote is at src[i]. An
// unescaped line terminator ends an unterminated one (before it).
func (l *jsLexer) str(i int) int {
	src := l.src
	q := src[i]
	for i++; i < len(src); i++ {
		c := src[i]
		if jclass[c]&jcStrStop == 0 {
			continue
		}
		switch c {
		case q:
			return i + 1
		case '\\':
			i++
			if i+1 < len(src) && src[i] == '\r' && src[i+1] == '\n' {
				i++
			}
		case '\n', '\r':
			return i
		}
	}
	return min(i, len(src)) // an escape at the end of the text
}

// tmplPart returns the end of the template part whose text starts at
// src[i]: past its closing '`', or past a "${" whose substitution it opens.
func (l *jsLexer) tmplPart(i int) int {
	src := l.src
	for ; i < len(src); i++ {
		c := src[i]
		if jclass[c]&jcTmplStop == 0 {
			continue
		}
		switch c {
		case '`':
			return i + 1
		case '\\':
			i++
		case '$':
			if i+1 < len(src) && src[i+1] == '{' {
				l.braces++
				if l.ntmpl < jsMaxTmpl {
					l.tmpl[l.ntmpl] = int32(l.braces)
					l.ntmpl++
				}
				return i + 2
			}
		}
	}
	return min(i, len(src)) // an escape at the end of the text
}

// number returns the end of the numeric literal at src[i] (a loose read:
// digits, letters, '_', '.' and an exponent's sign).
func (l *jsLexer) number(i int) int {
	src := l.src
	hex := src[i] == '0' && i+1 < len(src) && src[i+1]|0x20 == 'x'
	for i < len(src) {
		c := src[i]
		switch {
		case jclass[c]&jcIdent != 0 && c != '\\' && c != '$' && c < 0x80 || c == '.':
			i++
		case (c == '+' || c == '-') && src[i-1]|0x20 == 'e' && !hex:
			i++
		default:
			return i
		}
	}
	return i
}

// punct returns the end of the punctuator at src[i], and tracks braces.
func (l *jsLexer) punct(i int) int {
	src := l.src
	c := src[i]
	switch c {
	case '{':
		l.braces++
		return i + 1
	case '}':
		if l.braces > 0 {
			l.braces--
		}
		return i + 1
	case '(', ')', '[', ']', ';', ',', '~', ':', '#', '@':
		return i + 1
	case '.':
		if hasAt(src, i, "...") {
			return i + 3
		}
		return i + 1
	case '?':
		if hasAt(src, i, "?.") && i+2 < len(src) && jclass[src[i+2]]&jcDigit != 0 {
			return i + 1 // "?.5" is '?' and the number ".5"
		}
		return longestOp(src, i, "??=", "??", "?.")
	case '=':
		return longestOp(src, i, "===", "==", "=>")
	case '!':
		return longestOp(src, i, "!==", "!=")
	case '>':
		return longestOp(src, i, ">>>=", ">>>", ">>=", ">>", ">=")
	case '<', '*', '&', '|':
		// "<<=", "<<", "<="; "**=", "**", "*="; "&&=", "&&", "&="; "||=", "||", "|=".
		j := i + 1
		if j < len(src) && src[j] == c {
			j++
		}
		if j < len(src) && src[j] == '=' {
			j++
		}
		return j
	case '+', '-':
		if i+1 < len(src) && (src[i+1] == c || src[i+1] == '=') {
			return i + 2
		}
		return i + 1
	case '/', '%', '^':
		if i+1 < len(src) && src[i+1] == '=' {
			return i + 2
		}
		return i + 1
	}
	return i + 1
}

// longestOp returns the end of the first of ops, longest first, that
// stands at src[i], or i+1.
func longestOp(src []byte, i int, ops ...string) int {
	for _, op := range ops {
		if hasAt(src, i, op) {
			return i + len(op)
		}
	}
	return i + 1
}

// lineEnd returns the index of the line terminator at or after src[i], or
// len(src).
func lineEnd(src []byte, i int) int {
	for ; i < len(src); i++ {
		switch src[i] {
		case '\n', '\r':
			return i
		case 0xE2:
			if i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&0xFE == 0xA8 {
				return i
			}
		}
	}
	return i
}

func hasAt(src []byte, i int, s string) bool {
	return len(src)-i >= len(s) && string(src[i:i+len(s)]) == s
}
